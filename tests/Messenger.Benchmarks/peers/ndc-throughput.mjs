// libdatachannel (npm node-datachannel, usrsctp inside) sender -> receiver in one process over 127.0.0.1:
// the reference figure for the transport benchmark. Usage: node ndc-throughput.mjs <totalBytes> <messageBytes>
// Prints one JSON line: {"mbps":…,"setupMs":…,"sha256Equal":true}.
import { createHash, randomFillSync } from 'node:crypto';
import nodeDataChannel from 'node-datachannel';

const total = Number(process.argv[2] ?? 64 * 1024 * 1024);
const size = Number(process.argv[3] ?? 65536);
const config = { iceServers: [], bindAddress: '127.0.0.1', maxMessageSize: 262144 };

const started = performance.now();
const a = new nodeDataChannel.PeerConnection('a', config);
const b = new nodeDataChannel.PeerConnection('b', config);
a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type));
b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type));
a.onLocalCandidate((candidate, mid) => b.addRemoteCandidate(candidate, mid));
b.onLocalCandidate((candidate, mid) => a.addRemoteCandidate(candidate, mid));

const payload = randomFillSync(Buffer.alloc(size));
const expected = createHash('sha256');
for (let n = 0; n < total; n += size) expected.update(payload);
const expectedHash = expected.digest('hex');

const done = new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('timed out')), 120000);
  b.onDataChannel((channel) => {
    const hash = createHash('sha256');
    let received = 0;
    channel.onMessage((message) => {
      hash.update(message);
      received += message.length;
      if (received >= total) {
        clearTimeout(timer);
        resolve({ received, hash: hash.digest('hex') });
      }
    });
  });
});

const sender = a.createDataChannel('bench');
let transferStarted = 0;
let setupMs = 0;
sender.onOpen(() => {
  setupMs = performance.now() - started;
  transferStarted = performance.now();
  let sent = 0;
  const high = 4 * 1024 * 1024;
  sender.setBufferedAmountLowThreshold(1024 * 1024);
  const pump = () => {
    while (sent < total && sender.bufferedAmount() <= high) {
      sender.sendMessageBinary(payload);
      sent += size;
    }
  };
  sender.onBufferedAmountLow(pump);
  pump();
});

const { received, hash } = await done;
const seconds = (performance.now() - transferStarted) / 1000;
console.log(JSON.stringify({ mbps: total / seconds / 1e6, setupMs, received, sha256Equal: hash === expectedHash }));
sender.close();
a.close();
b.close();
nodeDataChannel.cleanup();
