#!/usr/bin/python3
"""The aiortc remote peer for the interop tests: speaks peers/README.md (JSON lines on stdin/stdout, then the
ping/echo/sink/source commands on the "interop" channel).

Runs with Debian's python3-aiortc (1.4) under /usr/bin/python3. aiortc does not trickle: its description carries
its candidates once gathering is done. Ours trickle in, possibly before our description, so they wait here until
the remote description is set.
"""

import asyncio
import hashlib
import json
import logging
import os
import sys
import time

import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

# AIORTC_PEER_DEBUG=1 in the test's environment: aiortc's and aioice's own logs go to stderr (the test output).
if os.environ.get("AIORTC_PEER_DEBUG"):
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(relativeCreated)6d %(name)s %(message)s")

LABEL = "interop"
# source: keep at most this much queued in aiortc, resume at the bufferedamountlow event.
HIGH_WATER = 4 * 1024 * 1024
LOW_WATER = 1 * 1024 * 1024

# aioice leaves 127.0.0.1 out when gathering host candidates; the tests run in a namespace that has nothing else.
_host_addresses = aioice.ice.get_host_addresses


def _host_addresses_with_loopback(use_ipv4, use_ipv6):
    addresses = _host_addresses(use_ipv4, use_ipv6)
    if use_ipv4 and "127.0.0.1" not in addresses:
        addresses.append("127.0.0.1")
    return addresses


aioice.ice.get_host_addresses = _host_addresses_with_loopback


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def log(text):
    emit({"type": "log", "message": text})


class Peer:
    def __init__(self):
        # No STUN server: aiortc's default (stun.l.google.com) cannot resolve in a loopback-only namespace.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.channel = None
        self.offer_started = None
        self.remote_set = False
        self.pending_candidates = []
        self.sink_left = 0
        self.sink_total = 0
        self.sink_hash = None
        self.source_task = None
        self.low = asyncio.Event()
        self.done = asyncio.get_running_loop().create_future()

        @self.pc.on("datachannel")
        def on_datachannel(channel):
            self.attach(channel)

        @self.pc.on("connectionstatechange")
        def on_state():
            log(f"connection state {self.pc.connectionState}")
            if self.pc.connectionState == "failed":
                self.fail("the peer connection failed")

    def fail(self, text):
        if not self.done.done():
            self.done.set_result(text)

    def attach(self, channel):
        self.channel = channel
        channel.bufferedAmountLowThreshold = LOW_WATER

        def on_open():
            message = {"type": "open", "label": channel.label}
            if self.offer_started is not None:
                message["setupMs"] = (time.perf_counter() - self.offer_started) * 1000
            emit(message)

        if channel.readyState == "open":
            on_open()
        else:
            channel.on("open", on_open)

        @channel.on("message")
        def on_message(data):
            try:
                self.on_message(data)
            except Exception as error:  # pylint: disable=broad-except
                self.fail(f"channel message: {error!r}")

        @channel.on("bufferedamountlow")
        def on_low():
            self.low.set()

        @channel.on("close")
        def on_close():
            # A clean close is our stream reset with the association still up; an ABORT or a dead DTLS closes the
            # channels too, and that is an error.
            if self.pc.sctp is not None and self.pc.sctp.state == "closed":
                self.fail("the SCTP association ended before our channel close")
            elif not self.done.done():
                self.done.set_result(None)

    def on_message(self, data):
        channel = self.channel
        if isinstance(data, str):
            if data.startswith("ping:"):
                channel.send("pong:" + data[len("ping:"):])
            elif data.startswith("sink:"):
                self.sink_total = self.sink_left = int(data[len("sink:"):])
                self.sink_hash = hashlib.sha256()
                if self.sink_left == 0:
                    self.finish_sink()
            elif data.startswith("source:"):
                _, total, size = data.split(":")
                self.source_task = asyncio.ensure_future(self.source(int(total), int(size)))
            else:
                self.fail(f"unknown command {data!r}")
            return

        if self.sink_hash is not None:
            if len(data) > self.sink_left:
                self.fail(f"sink got {len(data)} bytes with only {self.sink_left} expected")
                return
            self.sink_hash.update(data)
            self.sink_left -= len(data)
            if self.sink_left == 0:
                self.finish_sink()
        else:
            channel.send(data)

    def finish_sink(self):
        self.channel.send(f"sunk:{self.sink_total}:{self.sink_hash.hexdigest()}")
        self.sink_hash = None

    async def source(self, total, size):
        try:
            digest = hashlib.sha256()
            sent = 0
            while sent < total:
                chunk = os.urandom(min(size, total - sent))
                digest.update(chunk)
                while self.channel.bufferedAmount > HIGH_WATER:
                    self.low.clear()
                    await self.low.wait()
                self.channel.send(chunk)
                sent += len(chunk)
            self.channel.send(f"sourced:{total}:{digest.hexdigest()}")
        except Exception as error:  # pylint: disable=broad-except
            self.fail(f"source: {error!r}")

    async def handle(self, message):
        kind = message.get("type")
        if kind == "start":
            self.offer_started = time.perf_counter()
            self.attach(self.pc.createDataChannel(LABEL, ordered=True))
            await self.pc.setLocalDescription(await self.pc.createOffer())
            emit({"type": "offer", "sdp": self.pc.localDescription.sdp})
        elif kind == "offer":
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
            await self.remote_description_set()
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            emit({"type": "answer", "sdp": self.pc.localDescription.sdp})
        elif kind == "answer":
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="answer"))
            await self.remote_description_set()
        elif kind == "candidate":
            if self.remote_set:
                await self.add_candidate(message)
            else:
                self.pending_candidates.append(message)
        else:
            log(f"ignored signaling message {message!r}")

    async def remote_description_set(self):
        self.remote_set = True
        pending, self.pending_candidates = self.pending_candidates, []
        for message in pending:
            await self.add_candidate(message)

    async def add_candidate(self, message):
        text = message.get("candidate") or ""
        if text == "":
            # aiortc 1.4's addIceCandidate takes no end-of-candidates; tell the ICE transport directly.
            await self.pc.sctp.transport.transport.addRemoteCandidate(None)
            return
        if text.startswith("candidate:"):
            text = text[len("candidate:"):]
        candidate = candidate_from_sdp(text)
        candidate.sdpMid = message.get("sdpMid") or "0"
        await self.pc.addIceCandidate(candidate)


async def read_signaling(peer):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    # aiortc's imports take 0.5-3 s; the test waits for this so its setup figure does not count Python's start-up.
    emit({"type": "ready"})
    while True:
        line = await reader.readline()
        if not line:
            peer.fail("stdin closed before the channel did")
            return
        line = line.strip()
        if line:
            await peer.handle(json.loads(line))


async def main():
    peer = Peer()
    signaling = asyncio.ensure_future(read_signaling(peer))
    signaling.add_done_callback(
        lambda task: peer.fail(f"signaling: {task.exception()!r}")
        if not task.cancelled() and task.exception() is not None
        else None
    )
    error = await peer.done
    signaling.cancel()
    if peer.source_task is not None:
        peer.source_task.cancel()
    emit({"type": "closed"} if error is None else {"type": "error", "message": error})
    await peer.pc.close()
    return 0 if error is None else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
