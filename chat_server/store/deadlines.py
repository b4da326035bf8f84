"""Deadlines for Redis commands without a timer per command.

With ``socket_timeout`` set, redis-py wraps every write in ``asyncio.wait_for`` (a task per
command) and every read in ``asyncio.timeout`` (a timer per read). At a thousand messages a
second that cost about 7 % of the server's CPU per relayed message (a sequential GET took
268 µs instead of 145 µs): the extra task switches, and thousands of cancelled 3-second
timers in the event loop's heap, which the loop now and then rebuilds in one go. The
connections here keep the same promise more cheaply:

- a write goes straight into the transport; only when the transport holds bytes back (Redis
  is not reading) is the wait for it bounded, as before, by ``socket_timeout`` (and a write
  that times out is cut off, so that a Redis that wakes up cannot run it late);
- a read that relies on ``socket_timeout`` is entered in a per-loop table, and one sweep
  every ``SWEEP_INTERVAL_S`` cuts the connection of any read older than its timeout. The read
  then fails with redis-py's ``TimeoutError`` (never retried: the command may have run), the
  connection is dropped as redis-py drops a timed-out one, and a read can take at most
  ``SWEEP_INTERVAL_S`` longer than ``socket_timeout`` to fail.

Reads with an explicit timeout (the pub/sub reader's) keep redis-py's own handling.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from typing import Any

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

SWEEP_INTERVAL_S = 0.25


def cut_off(connection: AbstractConnection) -> None:
    """Abort ``connection``'s socket: a pending read fails at once, and unlike a close
    nothing still buffered is sent (redis-py keeps the stream writer private; its transport
    is the socket)."""
    writer = connection._writer
    if writer is not None:
        writer.transport.abort()


class _Sweeper:
    """The reads in flight on one event loop and their deadlines; cuts the overdue ones."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._deadlines: dict[AbstractConnection, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self.cut: weakref.WeakSet[AbstractConnection] = weakref.WeakSet()

    def arm(self, connection: AbstractConnection, timeout_s: float) -> None:
        self.cut.discard(connection)
        self._deadlines[connection] = self._loop.time() + timeout_s
        if self._timer is None:
            self._timer = self._loop.call_later(SWEEP_INTERVAL_S, self._sweep)

    def disarm(self, connection: AbstractConnection) -> None:
        self._deadlines.pop(connection, None)

    def _sweep(self) -> None:
        self._timer = None
        now = self._loop.time()
        overdue = [c for c, deadline in self._deadlines.items() if deadline <= now]
        for connection in overdue:
            del self._deadlines[connection]
            self.cut.add(connection)
            cut_off(connection)
        if self._deadlines:
            self._timer = self._loop.call_later(SWEEP_INTERVAL_S, self._sweep)


_sweepers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sweeper] = (
    weakref.WeakKeyDictionary()
)


def _sweeper() -> _Sweeper:
    loop = asyncio.get_running_loop()
    sweeper = _sweepers.get(loop)
    if sweeper is None:
        sweeper = _sweepers[loop] = _Sweeper(loop)
    return sweeper


class DeadlineConnection(AbstractConnection):
    """Mixed in front of a redis-py connection class (see ``with_deadlines``)."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self.is_connected:
            await self.connect_check_health(check_health=False)
        if check_health:
            await self.check_health()  # type: ignore[no-untyped-call]
        try:
            if isinstance(command, str):
                command = command.encode()
            if isinstance(command, bytes):
                command = [command]
            writer = self._writer
            assert writer is not None
            writer.writelines(command)
            if writer.transport.get_write_buffer_size() or writer.transport.is_closing():
                # Held back (or the connection is closing, which drain reports).
                await asyncio.wait_for(writer.drain(), self.socket_timeout)
        except TimeoutError:
            # Cut, not closed: a close would go on sending the rest, and a Redis that wakes
            # up would run a command its caller was told had failed.
            cut_off(self)
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as error:
            await self.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while writing to socket: {error}") from error
        except BaseException:
            await self.disconnect(nowait=True)
            raise

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 (redis-py's signature)
        *,
        disconnect_on_error: bool = True,
        push_request: bool | None = False,
    ) -> Any:
        if timeout is not None or not self.socket_timeout:
            return await super().read_response(
                disable_decoding,
                timeout,
                disconnect_on_error=disconnect_on_error,
                push_request=push_request,
            )
        sweeper = _sweeper()
        sweeper.arm(self, self.socket_timeout)
        try:
            return await super().read_response(
                disable_decoding,
                math.inf,  # no timer of redis-py's: the sweep is the deadline
                disconnect_on_error=disconnect_on_error,
                push_request=push_request,
            )
        except (RedisConnectionError, OSError) as error:
            if self in sweeper.cut:
                sweeper.cut.discard(self)
                await self.disconnect(nowait=True)
                raise RedisTimeoutError(f"Timeout reading from {self._host_error()}") from error
            raise
        finally:
            sweeper.disarm(self)


_classes: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def with_deadlines(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    """``connection_class`` with ``DeadlineConnection`` in front (one class per original)."""
    if issubclass(connection_class, DeadlineConnection):
        return connection_class
    if connection_class not in _classes:
        _classes[connection_class] = type(
            f"Deadline{connection_class.__name__}", (DeadlineConnection, connection_class), {}
        )
    return _classes[connection_class]
