"""The one connection supervisor: connect, run, on failure back off and retry, report the state.

Every kind that holds a connection, and the gateway client, hands it a *session*: an async
function that connects, calls ``connected()`` once it is ready to take messages, and returns
(or raises) when the connection ends. The supervisor runs sessions one after another, waiting
the source's backoff between them, and tells the source's status: ``degraded`` with the reason
while it retries, ``running`` again once a session is connected, ``failed`` when the backoff
says to give up or the error is permanent. A session of a blocking client (its own I/O
thread) awaits a future its thread settles through :mod:`gateways.loopbridge`, and on
cancellation tells the thread to stop and waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from gateways.config.common import Backoff
from gateways.errors import GatewayError

log = logging.getLogger(__name__)

# connect; call connected() when ready; return (optionally why it ended) or raise when it ends
Session = Callable[[Callable[[], None]], Awaitable[str | None]]
Report = Callable[[str, str], None]  # (state, reason)
# A backoff of factor 2 overflows a float after about 1,000 attempts; the cap applies long before.
_MAX_EXPONENT = 30


def describe(exc: BaseException) -> str:
    """An exception as a short reason: the client library's own words, else its type."""
    text = str(exc).strip()
    return text or type(exc).__name__


class PermanentError(GatewayError):
    """A session failure no retry can fix (refused credentials, a missing stream): the source
    is ``failed`` at once, and a first ``start`` raises it."""


class Supervisor:
    """Runs one source's sessions until stopped; see the module docstring."""

    def __init__(
        self,
        label: str,
        backoff: Backoff,
        session: Session,
        report: Report,
        *,
        describe: Callable[[BaseException], str] = describe,
        where: str = "",
    ) -> None:
        self.label = label
        self.backoff = backoff
        self._session = session
        self._report = report
        self._describe = describe
        self._where = where  # prefixed to reasons, e.g. a redacted server URL
        self._task: asyncio.Task[None] | None = None
        self.state = "starting"

    async def start(self) -> None:
        """Start the first session; return once it connected or its first attempt failed.

        A failed first attempt leaves the source ``degraded`` and retrying. A
        :class:`PermanentError` on the first attempt is raised (its text prefixed with
        ``where``), and nothing keeps running.
        """
        first: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(first), name=self.label)
        try:
            await first
        except PermanentError as exc:
            await self.stop()
            reason = self._describe(exc)
            raise PermanentError(f"{self._where}: {reason}" if self._where else reason) from exc
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    @property
    def stopped(self) -> bool:
        return self._task is None or self._task.done()

    async def _run(self, first: asyncio.Future[None]) -> None:
        attempt = 0
        while True:
            up = False

            def connected() -> None:
                nonlocal up, attempt
                up, attempt = True, 0
                if not first.done():
                    first.set_result(None)
                    self.state = "running"
                elif self.state != "running":
                    self._tell("running", "")

            try:
                problem = await self._session(connected) or "connection ended"
            except asyncio.CancelledError:
                if not first.done():
                    first.cancel()
                raise
            except PermanentError as exc:
                if not first.done():
                    first.set_exception(exc)
                    return
                self._tell("failed", self._describe(exc))
                return
            except Exception as exc:
                problem = self._describe(exc)
                log.debug("%s: session ended", self.label, exc_info=True)
            if self.backoff.exhausted(attempt):
                self._tell("failed", f"{problem}; gave up after {attempt} retries")
                if not first.done():
                    first.set_result(None)
                return
            delay = self.backoff.delay(min(attempt, _MAX_EXPONENT))
            attempt += 1
            self._tell("degraded", f"{problem}; reconnecting in {delay:.1f}s")
            if not first.done():
                first.set_result(None)
            await asyncio.sleep(delay)

    def _tell(self, state: str, reason: str) -> None:
        self.state = state
        if reason and self._where:
            reason = f"{self._where}: {reason}"
        if state != "running":
            log.warning("%s: %s: %s", self.label, state, reason)
        else:
            log.info("%s: running again", self.label)
        self._report(state, reason)
