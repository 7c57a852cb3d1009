"""Layer 1: wire protocols as pure functions and small state machines, with no IO.

``expressio.protocol.engineio`` holds Engine.IO v4 packets and polling payloads;
``expressio.protocol.socketio`` holds Socket.IO v5 packets. Both modules name their classes
alike (``Packet``, ``PacketType``, ``DecodeError``), so import them from the module you mean.
"""
