"""Acknowledgements: the client's callback as an object, and how values map to ack arguments."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .socket import Socket

logger = logging.getLogger("expressio.realtime")

INTERNAL_ERROR_ACK: tuple[Any, ...] = ({"error": "Internal Server Error"},)


class Ack:
    """The client's acknowledgement callback for one event: call it to answer.

    It answers once; later calls are ignored (and logged at debug level), so a handler that
    both returns a value and calls its ack cannot confuse the client.
    """

    __slots__ = ("_answered", "_socket", "id")

    def __init__(self, socket: Socket, ack_id: int) -> None:
        self._socket = socket
        self.id = ack_id
        self._answered = False

    @property
    def answered(self) -> bool:
        return self._answered

    def __call__(self, *args: Any) -> None:
        if self._answered:
            logger.debug("ack %d of socket %s already answered; ignored", self.id, self._socket.id)
            return
        # Marked only once sent: if ``args`` cannot be encoded, an error answer can still go.
        socket = self._socket
        if socket.connected:
            # Socket._send_ack, inlined for an ACK that is one message (the JSON parser's
            # text ACK of the default namespace; every msgpack ACK).
            namespace = socket.namespace.name
            ack_message = socket._ack_message  # a slot read, then a plain call
            message = ack_message(namespace, self.id, args)
            if message is not None:
                socket.engine_socket.send(message)
            else:
                socket._send_ack(self.id, args)
        self._answered = True

    def answer_with(self, result: Any) -> None:
        """Answer with a handler's return value (see :func:`ack_arguments`)."""
        self(*ack_arguments(result))

    def fail(self) -> None:
        """Answer ``{"error": "Internal Server Error"}``: the handler failed."""
        self(*INTERNAL_ERROR_ACK)

    def __repr__(self) -> str:
        return f"<Ack {self.id} of socket {self._socket.id} answered={self._answered}>"


def ack_arguments(result: Any) -> tuple[Any, ...]:
    """A handler's return value as ack arguments: ``None`` → none, a tuple → spread, else one."""
    if result is None:
        return ()
    if type(result) is tuple:
        return result
    return (result,)


def ack_value(args: Sequence[Any]) -> Any:
    """The client's ack arguments as one value: none → ``None``, one → it, several → a tuple."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)
