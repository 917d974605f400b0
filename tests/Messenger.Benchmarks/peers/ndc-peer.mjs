// One side of a two-process transfer with libdatachannel (npm node-datachannel): the reference in the `processes`
// benchmark. Usage: node ndc-peer.mjs send TOTAL SIZE | node ndc-peer.mjs receive TOTAL
// Signaling is JSON lines on stdin/stdout, the protocol of ../BenchPeer.cs: out ready, offer/answer, candidate,
// open (setupMs at the offerer), result; in start (to the sender), the other side's offer/answer/candidates, bye.
import { createHash, randomFillSync } from 'node:crypto';
import { createInterface } from 'node:readline';
import nodeDataChannel from 'node-datachannel';

const [role, totalArg, sizeArg] = process.argv.slice(2);
const total = Number(totalArg);
const size = Number(sizeArg ?? 0);
const send = role === 'send';
const write = (message) => process.stdout.write(JSON.stringify(message) + '\n');

const pc = new nodeDataChannel.PeerConnection(role, { iceServers: [], bindAddress: '127.0.0.1', maxMessageSize: 262144 });
pc.onLocalDescription((sdp, type) => write({ type: type.toLowerCase(), sdp }));
pc.onLocalCandidate((candidate, mid) => write({ type: 'candidate', candidate, sdpMid: mid }));
let started = 0;
let cpuAtOpen = null;
let sentResult = null;
// libdatachannel refuses a candidate before the remote description: hold them until it is set.
let described = false;
const pendingCandidates = [];

const finish = (result) => {
  const cpu = process.cpuUsage(cpuAtOpen);
  write({ type: 'result', role, ...result, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
};

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.startsWith('{')) return;
  const message = JSON.parse(line);
  switch (message.type) {
    case 'start':
      started = performance.now();
      startSending();
      break;
    case 'offer':
    case 'answer':
      pc.setRemoteDescription(message.sdp, message.type);
      described = true;
      for (const [candidate, mid] of pendingCandidates.splice(0)) pc.addRemoteCandidate(candidate, mid);
      break;
    case 'candidate':
      if (!message.candidate) break;
      if (described) pc.addRemoteCandidate(message.candidate, message.sdpMid ?? '0');
      else pendingCandidates.push([message.candidate, message.sdpMid ?? '0']);
      break;
    case 'bye':
      // The sender reports once the receiver has everything, so its CPU time covers the whole transfer.
      if (send && sentResult) finish(sentResult);
      shutdown(0);
      break;
    default:
      break;
  }
});
lines.on('close', () => shutdown(0));

function shutdown(code) {
  try { pc.close(); } catch { /* closing anyway */ }
  nodeDataChannel.cleanup();
  process.exit(code);
}

// node-datachannel closes a channel whose JavaScript object is collected: keep a reference for the whole run.
const keep = [];

function startSending() {
  const channel = pc.createDataChannel('bench');
  keep.push(channel);
  channel.onOpen(() => {
    write({ type: 'open', setupMs: performance.now() - started });
    cpuAtOpen = process.cpuUsage();
    const payload = randomFillSync(Buffer.alloc(size));
    const hash = createHash('sha256');
    let sent = 0;
    // The same watermarks as BenchPeer.cs; NDC_HIGH/NDC_LOW (bytes) let a run look for libdatachannel's best.
    const high = Number(process.env.NDC_HIGH ?? 4 * 1024 * 1024);
    channel.setBufferedAmountLowThreshold(Number(process.env.NDC_LOW ?? 1024 * 1024));
    const pump = () => {
      while (sent < total && channel.bufferedAmount() <= high) {
        const length = Math.min(size, total - sent);
        const message = length === size ? payload : payload.subarray(0, length);
        channel.sendMessageBinary(message);
        hash.update(message);
        sent += length;
      }
      if (sent >= total && sentResult === null) {
        sentResult = { bytes: sent, sha256: hash.digest('hex') };
      }
    };
    channel.onBufferedAmountLow(pump);
    pump();
  });
}

if (!send) {
  pc.onDataChannel((channel) => {
    keep.push(channel);
    write({ type: 'open' });
    cpuAtOpen = process.cpuUsage();
    const openedAt = performance.now();
    const hash = createHash('sha256');
    let received = 0;
    channel.onMessage((message) => {
      const bytes = typeof message === 'string' ? Buffer.from(message) : message;
      hash.update(bytes);
      received += bytes.length;
      if (received >= total) {
        finish({ bytes: received, sha256: hash.digest('hex'), seconds: (performance.now() - openedAt) / 1000 });
        setTimeout(() => shutdown(0), 100);
      }
    });
  });
}

write({ type: 'ready' });
