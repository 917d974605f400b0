// The libdatachannel peer for Messenger's interop tests (npm node-datachannel, the C++ libdatachannel with its
// usrsctp, libjuice and OpenSSL): signaling as JSON lines on stdin/stdout and the channel commands ping/sink/source,
// exactly as ../README.md describes. Plain JS, no build step: `node peer.mjs`.
// LDC_LOG=Verbose|Debug|Info|Warning|Error (default Warning) copies libdatachannel's own log into "log" messages.
import { createHash, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import nodeDataChannel from "node-datachannel";

const LABEL = "interop";
// Source backpressure: stop queueing above HIGH, resume when libdatachannel reports bufferedAmount fell to LOW.
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

let exiting = false;

function emit(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

function log(message) {
  emit({ type: "log", message });
}

// Closes the connection, stops libdatachannel's threads (without cleanup() node would not exit) and lets stdout
// drain before the process goes. Deferred: it is often called from one of libdatachannel's callbacks.
function exit(code) {
  if (exiting) return;
  exiting = true;
  setImmediate(() => {
    try {
      pc?.close();
    } catch (error) {
      log(`close: ${error}`);
    }
    try {
      nodeDataChannel.cleanup();
    } catch (error) {
      log(`cleanup: ${error}`);
    }
    process.stdout.write("", () => process.exit(code));
  });
}

function fail(error) {
  if (exiting) return;
  emit({ type: "error", message: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) });
  exit(1);
}

process.on("uncaughtException", fail);
process.on("unhandledRejection", fail);

// No STUN server, and only 127.0.0.1: in the loopback-only namespace that is the one address there is. The
// max-message-size we announce is Messenger's own default (also libdatachannel's).
const pc = new nodeDataChannel.PeerConnection("interop", { iceServers: [], bindAddress: "127.0.0.1", maxMessageSize: 262144 });

// Negotiation starts when we create the offer or receive one; the milestones are logged relative to it, so the
// peer's own share of the setup time is visible (when we answer, the test's clock also covers node's start-up).
let negotiationStartedAt = performance.now();
const sinceStart = () => `${(performance.now() - negotiationStartedAt).toFixed(0)} ms`;
nodeDataChannel.initLogger(process.env.LDC_LOG ?? "Warning", (level, message) => log(`libdatachannel ${level} at +${sinceStart()}: ${message}`));
let weOffered = false;

// libdatachannel negotiates by itself: creating the first channel makes the offer, setting a remote offer makes the
// answer; both arrive here. Candidates are trickled after it, and held until it went out all the same (the two
// come through separate callbacks), so a candidate never precedes its description.
let heldCandidates = [];
pc.onLocalDescription((sdp, type) => {
  const kind = String(type).toLowerCase();
  log(`local ${kind} at +${sinceStart()}`);
  emit({ type: kind, sdp });
  for (const message of heldCandidates) emit(message);
  heldCandidates = null;
});

function emitCandidate(message) {
  if (heldCandidates) heldCandidates.push(message);
  else emit(message);
}

pc.onLocalCandidate((candidate, mid) => {
  const text = candidate.startsWith("a=") ? candidate.slice(2) : candidate;
  emitCandidate({ type: "candidate", candidate: text, sdpMid: mid || "0" });
});

pc.onGatheringStateChange((state) => {
  if (state === "complete") emitCandidate({ type: "candidate", candidate: "", sdpMid: "0" });
});

// libdatachannel refuses a remote candidate before the remote description: hold them until it is set.
let remoteDescribed = false;
const pendingCandidates = [];

let channelClosed = false;

// The end. We report "closed" as soon as our channel closes (libdatachannel sends its own stream reset in answer to
// the peer's just before) and leave the connection to the peer, which closes it next (SCTP SHUTDOWN, close_notify:
// libdatachannel turns "disconnected", then "closed"): then we exit 0.
pc.onStateChange((state) => {
  log(`connection ${state} at +${sinceStart()}`);
  if (state === "closed" || state === "failed" || state === "disconnected") {
    if (!channelClosed) fail(new Error(`the connection turned ${state} before the channel closed`));
    else exit(0);
  }
});
pc.onIceStateChange((state) => log(`ICE ${state} at +${sinceStart()}`));

// node-datachannel closes a channel whose JavaScript object is collected: keep a reference for the whole run.
const channels = [];

pc.onDataChannel((channel) => attach(channel));

function attach(channel) {
  channels.push(channel);
  channel.setBufferedAmountLowThreshold(LOW_WATER);
  let sinkTotal = 0;
  let sinkRemaining = 0;
  let sinkHash = null;
  let sourcing = Promise.resolve();
  let lowWaiters = [];

  let opened = false;
  const onOpen = () => {
    if (opened) return;
    opened = true;
    const label = channel.getLabel();
    if (label !== LABEL) {
      fail(new Error(`unexpected channel label ${label}`));
      return;
    }
    const open = { type: "open", label };
    log(`channel open at +${sinceStart()} (${weOffered ? "offer created" : "offer received"} = 0); `
      + `the peer accepts messages up to ${channel.maxMessageSize()} bytes`);
    if (weOffered) open.setupMs = performance.now() - negotiationStartedAt;
    emit(open);
  };
  channel.onOpen(onOpen);
  // A channel the peer opened is open when it is handed to us, and may not report it again.
  if (channel.isOpen()) onOpen();

  channel.onClosed(() => {
    if (channelClosed) return;
    channelClosed = true;
    log(`channel closed at +${sinceStart()}`);
    emit({ type: "closed" });
  });

  channel.onError((error) => fail(new Error(`channel error: ${error}`)));

  channel.onBufferedAmountLow(() => {
    const waiters = lowWaiters;
    lowWaiters = [];
    for (const resolve of waiters) resolve();
  });

  channel.onMessage((data) => {
    if (typeof data === "string") {
      if (data.startsWith("ping:")) {
        channel.sendMessage("pong:" + data.slice("ping:".length));
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
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data));
    if (sinkHash) {
      sinkHash.update(bytes);
      sinkRemaining -= bytes.length;
      if (sinkRemaining < 0) {
        fail(new Error(`sink got ${-sinkRemaining} bytes more than the ${sinkTotal} announced`));
      } else if (sinkRemaining === 0) {
        finishSink();
      }
      return;
    }
    channel.sendMessageBinary(bytes);
  });

  function finishSink() {
    const digest = sinkHash.digest("hex");
    sinkHash = null;
    channel.sendMessage(`sunk:${sinkTotal}:${digest}`);
  }

  const waitForLow = () => new Promise((resolve) => lowWaiters.push(resolve));

  async function source(total, size) {
    const hash = createHash("sha256");
    let sent = 0;
    while (sent < total) {
      const chunk = randomBytes(Math.min(size, total - sent));
      hash.update(chunk);
      while (channel.bufferedAmount() > HIGH_WATER) {
        await waitForLow();
      }
      channel.sendMessageBinary(chunk);
      sent += chunk.length;
    }
    channel.sendMessage(`sourced:${total}:${hash.digest("hex")}`);
  }
}

function handle(message) {
  switch (message.type) {
    case "start":
      weOffered = true;
      negotiationStartedAt = performance.now();
      // Ordered and reliable by default; the offer follows by itself.
      attach(pc.createDataChannel(LABEL));
      break;
    case "offer":
    case "answer":
      if (message.type === "offer") negotiationStartedAt = performance.now();
      else log(`answer received at +${sinceStart()}`);
      pc.setRemoteDescription(message.sdp, message.type);
      remoteDescribed = true;
      for (const [candidate, mid] of pendingCandidates.splice(0)) pc.addRemoteCandidate(candidate, mid);
      break;
    case "candidate": {
      // libdatachannel needs no end-of-candidates.
      if (!message.candidate) break;
      const mid = message.sdpMid ?? "0";
      if (remoteDescribed) pc.addRemoteCandidate(message.candidate, mid);
      else pendingCandidates.push([message.candidate, mid]);
      break;
    }
    default:
      log(`unexpected signaling message ${JSON.stringify(message)}`);
  }
}

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
  try {
    handle(message);
  } catch (error) {
    fail(error);
  }
});
lines.on("close", () => {
  // The test went away without closing the channel.
  if (!exiting) {
    log("stdin closed");
    exit(2);
  }
});
emit({ type: "ready" });
