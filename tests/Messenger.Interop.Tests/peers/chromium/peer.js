// The interop peer of peers/README.md inside Chromium. ChromiumRemotePeer.cs exposes window.messengerReport (page →
// test, one JSON string per message) before the page loads and calls window.messengerPeer.receive(message) for the
// test → page direction. After a clean close the page reports {"type":"exit","code":0}: the test's WaitForExitAsync.
'use strict';

(() => {
  const LABEL = 'interop';
  const HIGH_WATER = 4 * 1024 * 1024; // stop queueing above this many buffered bytes…
  const LOW_WATER = 1024 * 1024; // …and resume at the bufferedamountlow event
  const RANDOM_PIECE = 65536; // crypto.getRandomValues fills at most 65536 bytes per call

  let pc = null;
  let channel = null;
  let offerStarted = 0;
  let endOfCandidatesSent = false;
  let exited = false;
  const pendingCandidates = [];
  let inbound = Promise.resolve(); // channel messages are handled one after another, in arrival order
  let sink = null; // { total, remaining, parts }

  function report(message) {
    window.messengerReport(JSON.stringify(message)).catch(() => {});
  }

  function log(text) {
    report({ type: 'log', message: text });
  }

  function exit(code) {
    if (!exited) {
      exited = true;
      report({ type: 'exit', code });
    }
  }

  function fail(error) {
    const text = error && error.stack ? `${error.message}\n${error.stack}` : String(error);
    report({ type: 'error', message: text });
    if (pc) {
      pc.close();
    }
    exit(1);
  }

  window.addEventListener('error', (e) => fail(e.error || e.message));
  window.addEventListener('unhandledrejection', (e) => fail(e.reason));

  function hex(buffer) {
    return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function createPeerConnection() {
    pc = new RTCPeerConnection({ iceServers: [] });
    pc.addEventListener('icecandidate', (e) => {
      if (e.candidate && e.candidate.candidate) {
        report({ type: 'candidate', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid ?? '0' });
      } else if (!endOfCandidatesSent) {
        endOfCandidatesSent = true;
        report({ type: 'candidate', candidate: '', sdpMid: '0' });
      }
    });
    pc.addEventListener('connectionstatechange', () => {
      log(`connectionState ${pc.connectionState}`);
      if (pc.connectionState === 'failed') {
        fail(new Error('the peer connection failed'));
      }
    });
    pc.addEventListener('iceconnectionstatechange', () => log(`iceConnectionState ${pc.iceConnectionState}`));
    pc.addEventListener('datachannel', (e) => attach(e.channel));
  }

  function attach(dc) {
    if (channel) {
      log(`another channel: id ${dc.id} '${dc.label}' (the first is id ${channel.id})`);
    }

    channel = dc;
    dc.binaryType = 'arraybuffer';
    dc.bufferedAmountLowThreshold = LOW_WATER;
    dc.addEventListener('open', () => {
      const setupMs = offerStarted ? performance.now() - offerStarted : null;
      log(`channel ${dc.id} open; sctp.maxMessageSize ${pc.sctp ? pc.sctp.maxMessageSize : '?'}`);
      report({ type: 'open', label: dc.label, setupMs });
      logSelectedPair().catch((e) => log(`getStats: ${e.message}`));
    });
    dc.addEventListener('message', (e) => {
      const data = e.data;
      inbound = inbound.then(() => onMessage(data)).catch(fail);
    });
    dc.addEventListener('close', () => {
      // Messages delivered before the close are handled first; then the whole connection goes.
      inbound.then(() => {
        report({ type: 'closed' });
        pc.close();
        exit(0);
      });
    });
    dc.addEventListener('error', (e) => {
      if (!exited && dc.readyState !== 'closed') {
        log(`channel error: ${e.error ? e.error.message : 'unknown'}`);
      }
    });
  }

  // Which path Chromium chose: the candidates it did not signal show up here (a prflx remote, for instance).
  async function logSelectedPair() {
    const stats = await pc.getStats();
    for (const s of stats.values()) {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = stats.get(s.selectedCandidatePairId);
        const local = stats.get(pair.localCandidateId);
        const remote = stats.get(pair.remoteCandidateId);
        const describe = (c) => `${c.candidateType} ${c.address}:${c.port}`;
        log(`selected pair: local ${describe(local)}, remote ${describe(remote)}; dtls ${s.dtlsState} ${s.tlsVersion ?? ''} ${s.dtlsCipher ?? ''}, role ${s.dtlsRole ?? '?'}`);
      }
    }
  }

  async function onMessage(data) {
    if (typeof data !== 'string') {
      if (sink) {
        await sinkBytes(data);
      } else {
        channel.send(data);
      }
      return;
    }

    const [command, ...args] = data.split(':');
    switch (command) {
      case 'ping':
        channel.send('pong:' + data.slice('ping:'.length));
        break;
      case 'sink': {
        const total = Number(args[0]);
        sink = { total, remaining: total, parts: [] };
        if (total === 0) {
          await sinkBytes(new ArrayBuffer(0));
        }
        break;
      }
      case 'source':
        await source(Number(args[0]), Number(args[1]));
        break;
      default:
        throw new Error(`unknown command '${data.slice(0, 80)}'`);
    }
  }

  async function sinkBytes(buffer) {
    if (buffer.byteLength > sink.remaining) {
      throw new Error(`sink: got ${buffer.byteLength} bytes with ${sink.remaining} left of ${sink.total}`);
    }

    sink.parts.push(new Uint8Array(buffer));
    sink.remaining -= buffer.byteLength;
    if (sink.remaining > 0) {
      return;
    }

    // crypto.subtle cannot hash incrementally: the whole sink (64 MiB at most here) is joined and hashed once.
    const { total, parts } = sink;
    sink = null;
    const all = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      all.set(part, offset);
      offset += part.byteLength;
    }

    channel.send(`sunk:${total}:${hex(await crypto.subtle.digest('SHA-256', all))}`);
  }

  function bufferedAmountLow() {
    return new Promise((resolve, reject) => {
      const done = () => {
        channel.removeEventListener('bufferedamountlow', done);
        channel.removeEventListener('close', closed);
        resolve();
      };
      const closed = () => {
        channel.removeEventListener('bufferedamountlow', done);
        reject(new Error('the channel closed while sending'));
      };
      channel.addEventListener('bufferedamountlow', done);
      channel.addEventListener('close', closed, { once: true });
    });
  }

  async function source(total, size) {
    if (!(total >= 0) || !(size > 0)) {
      throw new Error(`source: bad arguments ${total}:${size}`);
    }

    const data = new Uint8Array(total);
    for (let offset = 0; offset < total; offset += RANDOM_PIECE) {
      crypto.getRandomValues(data.subarray(offset, Math.min(total, offset + RANDOM_PIECE)));
    }

    const digest = crypto.subtle.digest('SHA-256', data); // hashes while we send
    for (let offset = 0; offset < total; offset += size) {
      while (channel.bufferedAmount > HIGH_WATER) {
        await bufferedAmountLow();
      }

      channel.send(data.subarray(offset, Math.min(total, offset + size)));
    }

    channel.send(`sourced:${total}:${hex(await digest)}`);
  }

  async function addCandidate(message) {
    const init = { candidate: message.candidate ?? '', sdpMid: message.sdpMid ?? '0' };
    if (!pc.remoteDescription) {
      pendingCandidates.push(init); // our answer's candidates may overtake the answer itself
      return;
    }

    await pc.addIceCandidate(init);
  }

  async function setRemote(description) {
    await pc.setRemoteDescription(description);
    for (const init of pendingCandidates.splice(0)) {
      await pc.addIceCandidate(init);
    }
  }

  async function receive(message) {
    switch (message.type) {
      case 'start': {
        createPeerConnection();
        offerStarted = performance.now();
        attach(pc.createDataChannel(LABEL, { ordered: true }));
        await pc.setLocalDescription(await pc.createOffer());
        log(`offer:\n${pc.localDescription.sdp.trim()}`);
        report({ type: 'offer', sdp: pc.localDescription.sdp });
        break;
      }
      case 'offer': {
        createPeerConnection();
        await setRemote({ type: 'offer', sdp: message.sdp });
        await pc.setLocalDescription(await pc.createAnswer());
        log(`answer:\n${pc.localDescription.sdp.trim()}`);
        report({ type: 'answer', sdp: pc.localDescription.sdp });
        break;
      }
      case 'answer':
        await setRemote({ type: 'answer', sdp: message.sdp });
        break;
      case 'candidate':
        if (pc) {
          await addCandidate(message);
        } else {
          pendingCandidates.push({ candidate: message.candidate ?? '', sdpMid: message.sdpMid ?? '0' });
        }
        break;
      default:
        throw new Error(`unknown signaling message type '${message.type}'`);
    }
  }

  // Signaling messages are applied in the order the test sends them; the test does not wait for the work itself
  // (failures are reported as error messages).
  let signaling = Promise.resolve();
  window.messengerPeer = {
    receive(message) {
      signaling = signaling.then(() => receive(message)).catch(fail);
    },
  };
})();
