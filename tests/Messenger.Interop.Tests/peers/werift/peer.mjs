// The werift peer for Messenger's interop tests: signaling as JSON lines on stdin/stdout and the channel commands
// ping/sink/source, exactly as ../README.md describes. Plain JS, no build step: `node peer.mjs`.
import { createHash, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { RTCPeerConnection } from "werift";

const LABEL = "interop";
// Source backpressure: stop queueing above HIGH, resume when werift reports bufferedAmount fell to LOW.
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

let exiting = false;

function emit(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

function log(message) {
  emit({ type: "log", message });
}

function exit(code) {
  if (exiting) return;
  exiting = true;
  // Let stdout drain before the process goes.
  process.stdout.write("", () => process.exit(code));
}

function fail(error) {
  if (exiting) return;
  emit({ type: "error", message: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) });
  exit(1);
}

process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

// In a loopback-only namespace werift finds no interface address of its own: 127.0.0.1 has to be added, IPv4 only.
const pc = new RTCPeerConnection({
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceUseIpv4: true,
  iceUseIpv6: false,
});
// werift deep-merges `iceServers: []` into its default (stun.l.google.com), so its STUN server cannot be turned
// off here; in the namespace the lookup fails at once (EAI_AGAIN) and gathering goes on with the host candidate.

// Negotiation starts when we create the offer or receive one; the milestones are logged relative to it, so the
// peer's own share of the setup time is visible (when we answer, the test's clock also covers node's start-up).
let negotiationStartedAt = 0;
const sinceStart = () => `${(performance.now() - negotiationStartedAt).toFixed(0)} ms`;
let weOffered = false;

// werift gathers inside setLocalDescription and reports candidates before that resolves (they are in the SDP as
// well): hold them until our description has gone out, so a candidate never precedes its description.
let heldCandidates = [];
pc.onicecandidate = ({ candidate }) => {
  const message = !candidate || !candidate.candidate
    ? { type: "candidate", candidate: "", sdpMid: "0" }
    : {
        type: "candidate",
        candidate: candidate.candidate.startsWith("candidate:") ? candidate.candidate : `candidate:${candidate.candidate}`,
        sdpMid: candidate.sdpMid ?? "0",
      };
  if (heldCandidates) heldCandidates.push(message);
  else emit(message);
};

function emitDescription(type) {
  emit({ type, sdp: pc.localDescription.sdp });
  for (const message of heldCandidates) emit(message);
  heldCandidates = null;
}

let channelClosed = false;

// The end: the peer closes its connection after the channel. werift does not turn the connection "closed" when the
// SCTP association ends (only ICE consent failure does, ~30 s later), so the association's end counts too.
function connectionEnded(why) {
  if (exiting) return;
  if (!channelClosed) {
    fail(new Error(`${why} before the channel closed`));
    return;
  }
  log(why);
  pc.close()
    .catch((error) => log(`close: ${error}`))
    .finally(() => exit(0));
}

pc.iceConnectionStateChange.subscribe((state) => log(`ICE ${state} at +${sinceStart()}`));

pc.connectionStateChange.subscribe((state) => {
  log(`connection ${state} at +${sinceStart()}`);
  if (state === "closed" || state === "failed" || state === "disconnected") connectionEnded(`the connection turned ${state}`);
});

pc.ondatachannel = ({ channel }) => attach(channel);

function attach(channel) {
  channel.bufferedAmountLowThreshold = LOW_WATER;
  let sinkTotal = 0;
  let sinkRemaining = 0;
  let sinkHash = null;
  let sourcing = Promise.resolve();

  const send = (data) => channel.send(data);

  channel.onopen = () => {
    if (channel.label !== LABEL) {
      fail(new Error(`unexpected channel label ${channel.label}`));
      return;
    }
    const open = { type: "open", label: channel.label };
    log(`channel open at +${sinceStart()} (${weOffered ? "offer created" : "offer received"} = 0)`);
    if (weOffered) open.setupMs = performance.now() - negotiationStartedAt;
    pc.sctpTransport?.sctp?.stateChanged?.closed?.subscribe(() => connectionEnded("the SCTP association ended"));
    emit(open);
  };
  if (channel.readyState === "open") channel.onopen();

  // werift reports the channel closed as soon as the peer's stream reset arrives, before its own reset of the
  // other half has gone out: closing the connection here would cut that off and leave the peer's channel
  // half-closed. So report, and leave the connection to the peer, which closes it next (then we exit 0).
  channel.onclose = () => {
    channelClosed = true;
    emit({ type: "closed" });
  };

  channel.onmessage = ({ data }) => {
    if (typeof data === "string") {
      if (data.startsWith("ping:")) {
        send("pong:" + data.slice("ping:".length));
      } else if (data.startsWith("sink:")) {
        sinkTotal = Number(data.slice("sink:".length));
        sinkRemaining = sinkTotal;
        sinkHash = createHash("sha256");
        if (sinkRemaining === 0) finishSink();
      } else if (data.startsWith("source:")) {
        const [, total, size] = data.split(":").map(Number);
        sourcing = sourcing.then(() => source(total, size)).catch(fail);
      } else {
        log(`unexpected text ${JSON.stringify(data.slice(0, 100))}`);
      }
      return;
    }
    if (sinkHash) {
      sinkHash.update(data);
      sinkRemaining -= data.length;
      if (sinkRemaining < 0) {
        fail(new Error(`sink got ${-sinkRemaining} bytes more than the ${sinkTotal} announced`));
      } else if (sinkRemaining === 0) {
        finishSink();
      }
      return;
    }
    // werift may hand out a view of a buffer it reuses: echo a copy.
    send(Buffer.from(data));
  };

  function finishSink() {
    const digest = sinkHash.digest("hex");
    sinkHash = null;
    send(`sunk:${sinkTotal}:${digest}`);
  }

  function waitForLow() {
    return new Promise((resolve) => {
      const { unSubscribe } = channel.bufferedAmountLow.subscribe(() => {
        unSubscribe();
        resolve();
      });
    });
  }

  async function source(total, size) {
    const hash = createHash("sha256");
    let sent = 0;
    while (sent < total) {
      const chunk = randomBytes(Math.min(size, total - sent));
      hash.update(chunk);
      while (channel.bufferedAmount > HIGH_WATER) {
        await waitForLow();
      }
      send(chunk);
      sent += chunk.length;
    }
    send(`sourced:${total}:${hash.digest("hex")}`);
  }
}

async function handle(message) {
  switch (message.type) {
    case "start": {
      weOffered = true;
      negotiationStartedAt = performance.now();
      attach(pc.createDataChannel(LABEL, { ordered: true }));
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      emitDescription("offer");
      break;
    }
    case "offer": {
      negotiationStartedAt = performance.now();
      await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      emitDescription("answer");
      break;
    }
    case "answer":
      log(`answer received at +${sinceStart()}`);
      await pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
      break;
    case "candidate":
      await pc.addIceCandidate({ candidate: message.candidate ?? "", sdpMid: message.sdpMid ?? "0" });
      break;
    default:
      log(`unexpected signaling message ${JSON.stringify(message)}`);
  }
}

// One message at a time, in order: a candidate must not overtake the description it belongs to.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (line.trim() === "") return;
  let message;
  try {
    message = JSON.parse(line);
  } catch {
    fail(new Error(`not JSON: ${line}`));
    return;
  }
  queue = queue.then(() => handle(message)).catch(fail);
});
emit({ type: "ready" });
lines.on("close", () => {
  // The test went away without closing the channel.
  if (!exiting) {
    log("stdin closed");
    exit(2);
  }
});
