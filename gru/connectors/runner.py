"""The delivery loop of ``gru worker``: claim, send with bounded concurrency, record.

One :class:`Dispatcher` per worker process. Each :meth:`Dispatcher.step` records the
outcomes of finished sends (one commit), then claims as many due deliveries as there are
free slots (one commit: leases and journal entries) and hands them to a thread pool of
``GRU_CONNECTORS_CONCURRENCY`` threads (claims of up to ``GRU_CONNECTORS_BATCH_SIZE``
wait in a local backlog for a free slot). Every send is bounded by
``GRU_CONNECTORS_TIMEOUT`` per HTTP call; one instance never has more than three quarters
of the slots, so a slow receiver does not hold back the others. The clock is injected, so that
tests move time (a receiver down for a day) instead of sleeping.
"""

import logging
import random
import threading
import time
from contextlib import nullcontext
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from flask import current_app, has_app_context

from gru.connectors.base import ConnectorError, Outcome
from gru.dbtypes import utcnow
from gru.extensions import db

log = logging.getLogger("gru.connectors")
#: seconds a finished send may wait to be recorded with others
RECORD_DELAY = 0.05


def _safe_deliver(connector, message):
    """Never raises: an unexpected error becomes a retry named by its class only (its
    message could hold a URL with a token or a secret)."""
    try:
        outcome = connector.deliver(message)
    except ConnectorError as error:
        return error.outcome
    except Exception as error:  # noqa: BLE001 - a plugin's bug must not kill the loop
        return Outcome.retry(f"connector {connector.name} raised {error.__class__.__name__}")
    if not isinstance(outcome, Outcome):
        return Outcome.retry(f"connector {connector.name} returned no outcome")
    return outcome


def _context(app):
    """A new app context, unless this thread already runs in one of ``app`` (tests, the CLI):
    ending a context ends its session, which the caller may still be using."""
    if has_app_context() and current_app._get_current_object() is app:
        return nullcontext()
    return app.app_context()


class Dispatcher:
    """Claims into a local backlog, sends from it with bounded concurrency, records outcomes.

    ``cap``: sends in flight per instance (three quarters of the slots, so that a slow
    receiver leaves slots to the others); ``hold``: deliveries one instance may hold
    claimed (in flight or in the backlog) at a time.
    """

    def __init__(self, app, clock=utcnow, rng=random):
        self.app = app
        self.clock = clock
        self.rng = rng
        config = app.config
        self.concurrency = max(1, int(config["GRU_CONNECTORS_CONCURRENCY"]))
        self.batch_size = max(1, int(config["GRU_CONNECTORS_BATCH_SIZE"]))
        self.timeout = float(config["GRU_CONNECTORS_TIMEOUT"])
        self.poll_interval = float(config["GRU_CONNECTORS_POLL_INTERVAL"])
        self.cap = max(1, self.concurrency * 3 // 4)
        self.hold = max(self.cap, self.batch_size // 2)
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="gru-delivery")
        self._inflight = {}  # future -> (delivery pk, instance pk)
        self._backlog = []  # (delivery pk, instance pk, connector, message), claimed, not sent yet
        self._connectors = {}  # instance pk -> (updated_at, connector)
        self._claimed_at = float("-inf")
        self._done = []  # (delivery pk, outcome) finished, not recorded yet
        self._done_since = 0.0

    def _connector(self, instance):
        from gru.connectors.services import connector_types, decrypt_config

        cached = self._connectors.get(instance.pk)
        if cached is not None and cached[0] == instance.updated_at:
            return cached[1]
        cls = connector_types()[instance.type]
        connector = cls(instance.name, decrypt_config(instance), timeout=self.timeout,
                        base_url=self.app.config["GRU_BASE_URL"])
        self._connectors[instance.pk] = (instance.updated_at, connector)
        return connector

    def _collect(self, force=False):
        """Finished sends to record now: in groups (one transaction each), unless waiting
        longer would hold back the next event of a party (at most RECORD_DELAY)."""
        for future in [future for future in self._inflight if future.done()]:
            delivery_pk, _instance_pk = self._inflight.pop(future)
            if not self._done:
                self._done_since = time.monotonic()
            self._done.append((delivery_pk, future.result()))
        if not self._done:
            return []
        if not (force or not self._inflight or len(self._done) >= self.cap
                or time.monotonic() - self._done_since >= RECORD_DELAY):
            return []
        results, self._done = self._done, []
        return results

    def _counts(self, items):
        counts = {}
        for instance_pk in items:
            counts[instance_pk] = counts.get(instance_pk, 0) + 1
        return counts

    def _submit(self):
        """Send from the backlog, in claim order, within the slots and each instance's cap."""
        busy = self._counts(instance_pk for _pk, instance_pk in self._inflight.values())
        waiting = []
        for job in self._backlog:
            delivery_pk, instance_pk, connector, message = job
            if len(self._inflight) < self.concurrency and busy.get(instance_pk, 0) < self.cap:
                future = self._pool.submit(_safe_deliver, connector, message)
                self._inflight[future] = (delivery_pk, instance_pk)
                busy[instance_pk] = busy.get(instance_pk, 0) + 1
            else:
                waiting.append(job)
        self._backlog = waiting

    def step(self):
        """Record finished sends, claim and submit new ones; returns ``(claimed, recorded)``."""
        from gru.connectors.dispatch import claim, record_outcomes

        with _context(self.app):
            results = self._collect()
            if results:
                try:
                    counts = record_outcomes(results, now=self.clock(), rng=self.rng)
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    # Sent is sent: record them at the next step, rather than leave them
                    # leased until the lease lapses and send them all again then.
                    self._done = results + self._done
                    self._done_since = time.monotonic() - RECORD_DELAY
                    raise
                log.debug("deliveries: %s", counts)
            self._submit()
            if len(self._inflight) >= self.concurrency:
                return 0, len(results)
            # With work still waiting here, claim at most once per poll interval: each claim
            # is a transaction, and the backlog keeps the slots busy meanwhile.
            now = time.monotonic()
            if self._backlog and now - self._claimed_at < self.poll_interval:
                return 0, len(results)
            self._claimed_at = now
            held = self._counts([instance_pk for _pk, instance_pk in self._inflight.values()]
                                + [job[1] for job in self._backlog])
            shares = {pk: max(0, self.hold - count) for pk, count in held.items()}
            try:
                claimed = claim(self.batch_size, now=self.clock(), shares=shares, default_share=self.hold)
                self._backlog.extend(
                    (delivery.pk, delivery.instance_pk, self._connector(delivery.instance), message)
                    for delivery, message in claimed if message is not None
                )
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            self._submit()
            return len(claimed), len(results)

    def wait(self, timeout):
        """Wait until a send finishes (at most ``timeout`` seconds, and no longer than a
        finished send may wait to be recorded)."""
        if self._done:
            timeout = min(timeout, RECORD_DELAY)
        if self._inflight:
            wait(list(self._inflight), timeout=timeout, return_when=FIRST_COMPLETED)
        elif timeout:
            time.sleep(timeout)

    def drain(self, max_steps=100_000):
        """Run until nothing is due and nothing is in flight (tests, ``gru connectors run``)."""
        for _ in range(max_steps):
            claimed, recorded = self.step()
            if not claimed and not recorded and not self._inflight and not self._backlog and not self._done:
                return
            if not claimed and not recorded:
                self.wait(self.timeout + 1)

    def finish(self):
        """Wait for the sends in flight and record them (the backlog's leases lapse)."""
        self._backlog = []
        while self._inflight or self._done:
            self.wait(self.timeout + 1)
            self.step_record_only()

    def step_record_only(self):
        from gru.connectors.dispatch import record_outcomes

        with _context(self.app):
            results = self._collect(force=True)
            if results:
                record_outcomes(results, now=self.clock(), rng=self.rng)
                db.session.commit()

    def close(self):
        self.finish()
        self._pool.shutdown(wait=True)
        for _updated_at, connector in self._connectors.values():
            connector.close()
        self._connectors.clear()


class DeliveryLoop(threading.Thread):
    """The worker's delivery loop: :meth:`Dispatcher.step` until stopped, in its own thread.

    An error of one step (the database away for a moment) is logged on one line and the
    loop goes on after a pause; leases make any claim it lost harmless.
    """

    def __init__(self, app, clock=utcnow):
        super().__init__(name="gru-deliveries", daemon=True)
        self.dispatcher = Dispatcher(app, clock=clock)
        self._stopping = threading.Event()

    def run(self):
        dispatcher = self.dispatcher
        while not self._stopping.is_set():
            try:
                claimed, recorded = dispatcher.step()
            except Exception as error:  # noqa: BLE001 - one line, then go on
                log.error("deliveries: step failed: %s", error.__class__.__name__)
                self._stopping.wait(max(1.0, dispatcher.poll_interval))
                continue
            if not claimed and not recorded:
                dispatcher.wait(dispatcher.poll_interval)
        dispatcher.close()

    def stop(self, timeout=None):
        self._stopping.set()
        self.join(timeout)
