"""An in-project Azure Service Bus peer for the tests: an AMQP 1.0 broker on python-qpid-proton that the
real `azure-servicebus` SDK talks to (connection string with `UseDevelopmentEmulator=true`: plain AMQP
on this port, SAS token through `$cbs`).

    python -m tests.wirepeers.servicebus <amqp port> <control port>

What it does, as Service Bus does for a non-session queue:
- `$cbs` put-token (any token is accepted; it answers 202 as the service does);
- send (single transfers and the SDK's batch envelope), with `x-opt-scheduled-enqueue-time` (a
  scheduled message is not delivered before its time) and a message TTL or the queue's default;
- peek-lock receive (rcv-settle-mode second: the peer echoes the receiver's outcome, then settles)
  and receive-and-delete; a 16-byte delivery tag that the SDK reads as the lock token (uuid bytes_le);
- settlement on the link (accepted = complete, rejected with `com.microsoft:dead-letter` =
  dead-letter with the reason, modified = abandon, released = unlock) and by lock token through the
  entity's `$management` node (`com.microsoft:update-disposition`: completed / abandoned / suspended /
  defered), from any connection: locks belong to the entity, not to the link that received the
  message (what the Functions worker relies on: the host receives, the function settles);
- `com.microsoft:renew-lock` and `com.microsoft:peek-message`;
- a lock that expires, or an abandon, makes the message available again; a message delivered
  `max_delivery_count` times and not settled moves to `<queue>/$DeadLetterQueue` with the reason
  `MaxDeliveryCountExceeded`; an expired message moves there (`TTLExpiredException`) when the queue
  dead-letters on expiration. A dead-lettered message keeps its delivery count.
An entity that does not exist is refused (amqp:not-found), as the service does.

Queues are made, and counted, through a small HTTP control port (what the admin API and Azure Monitor
do for a real namespace): PUT /queues/<name> {max_delivery_count, lock_duration_s, default_ttl_s,
dead_lettering_on_expiration}; GET /queues/<name> -> {active, scheduled, locked, dead_lettered}.
"""

import heapq
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from proton import Data, Delivery, Handler, Link, Message, symbol, timestamp
from proton.reactor import Container

DLQ = "/$DeadLetterQueue"
MGMT = "/$management"
TICK_S = 0.02
LOCK_LOST = symbol("com.microsoft:message-lock-lost")

_lock = threading.RLock()  # the broker state, shared by the reactor thread and the control server


class Entry:
    __slots__ = ("seq", "msg", "enqueued", "available_at", "expires_at", "deliveries", "token", "locked_until")

    def __init__(self, seq: int, msg: Message, now: float, available_at: float, expires_at: float | None,
                 deliveries: int = 0):
        self.seq, self.msg, self.enqueued = seq, msg, now
        self.available_at, self.expires_at, self.deliveries = available_at, expires_at, deliveries
        self.token: uuid.UUID | None = None
        self.locked_until = 0.0


class Queue:
    def __init__(self, name: str, max_delivery_count: int = 10, lock_duration_s: float = 60.0,
                 default_ttl_s: float | None = None, dead_lettering_on_expiration: bool = True, dlq: bool = False):
        self.name, self.max_delivery_count, self.lock_s = name, max_delivery_count, lock_duration_s
        self.default_ttl_s, self.dead_letter_expired = default_ttl_s, dead_lettering_on_expiration
        self.entries: dict[int, Entry] = {}
        self.ready: list[tuple[float, int]] = []  # heap of (available_at, seq): not locked, maybe scheduled
        self.locks: dict[uuid.UUID, Entry] = {}
        self.seq = 0
        self.dead = None if dlq else Queue(name + DLQ, dlq=True)

    # ---- messages in ----
    def add(self, msg: Message, now: float, deliveries: int = 0) -> Entry:
        self.seq += 1
        ann = msg.annotations or {}
        at = ann.get(symbol("x-opt-scheduled-enqueue-time"))
        available = max(now, float(at) / 1000) if at is not None else now
        ttl = msg.ttl or self.default_ttl_s
        entry = Entry(self.seq, msg, now, available, available + ttl if ttl else None, deliveries)
        self.entries[entry.seq] = entry
        heapq.heappush(self.ready, (available, entry.seq))
        return entry

    # ---- messages out ----
    def next_ready(self, now: float) -> Entry | None:
        while self.ready and self.ready[0][0] <= now:
            _, seq = heapq.heappop(self.ready)
            entry = self.entries.get(seq)
            if entry is None or entry.token is not None:
                continue
            if entry.expires_at is not None and entry.expires_at <= now and self.dead is not None:
                self.drop(entry)
                if self.dead_letter_expired:
                    self.dead_letter(entry, "TTLExpiredException", "the message expired", now)
                continue
            return entry
        return None

    def lock(self, entry: Entry, now: float) -> uuid.UUID:
        entry.token = uuid.uuid4()
        entry.locked_until = now + self.lock_s
        entry.deliveries += 1
        self.locks[entry.token] = entry
        return entry.token

    # ---- settlement ----
    def settle(self, token: uuid.UUID, outcome: str, now: float, reason: str = "", description: str = "") -> bool:
        entry = self.locks.get(token)
        if entry is None or entry.locked_until <= now:
            return False
        if outcome == "completed":
            self.drop(entry)
        elif outcome == "suspended":
            self.drop(entry)
            self.dead_letter(entry, reason, description, now)
        elif outcome == "released":  # given back unprocessed: not a delivery attempt
            entry.deliveries -= 1
            self.unlock(entry, now)
        else:  # abandoned, defered (deferral is not modelled: the message comes back like an abandon)
            self.unlock(entry, now)
        return True

    def renew(self, token: uuid.UUID, now: float) -> float | None:
        entry = self.locks.get(token)
        if entry is None or entry.locked_until <= now:
            return None
        entry.locked_until = now + self.lock_s
        return entry.locked_until

    def expire_locks(self, now: float) -> None:
        for entry in [e for e in self.locks.values() if e.locked_until <= now]:
            self.unlock(entry, now)

    def unlock(self, entry: Entry, now: float) -> None:
        self.locks.pop(entry.token, None)
        entry.token = None
        if self.dead is not None and entry.deliveries >= self.max_delivery_count:
            self.drop(entry)
            self.dead_letter(entry, "MaxDeliveryCountExceeded",
                             f"Message could not be consumed after {self.max_delivery_count} delivery attempts.", now)
            return
        heapq.heappush(self.ready, (max(now, entry.available_at), entry.seq))

    def drop(self, entry: Entry) -> None:
        self.entries.pop(entry.seq, None)
        if entry.token is not None:
            self.locks.pop(entry.token, None)
            entry.token = None

    def dead_letter(self, entry: Entry, reason: str, description: str, now: float) -> None:
        msg = entry.msg
        msg.properties = {**(msg.properties or {}), "DeadLetterReason": reason,
                          "DeadLetterErrorDescription": description}
        msg.annotations = {k: v for k, v in (msg.annotations or {}).items()
                           if k != symbol("x-opt-scheduled-enqueue-time")}
        msg.annotations[symbol("x-opt-deadletter-source")] = self.name
        msg.ttl = 0
        self.dead.add(msg, now, entry.deliveries)

    def counts(self, now: float) -> dict:
        scheduled = sum(1 for e in self.entries.values() if e.token is None and e.available_at > now)
        return {"active": len(self.entries) - scheduled - len(self.locks), "scheduled": scheduled,
                "locked": len(self.locks), "dead_lettered": len(self.dead.entries) if self.dead else 0}


class Broker:
    def __init__(self):
        self.queues: dict[str, Queue] = {}

    def entity(self, address: str | None) -> tuple[Queue | None, bool]:
        """The queue (or its DLQ) an address names, and whether it is its $management node."""
        path = unquote(urlsplit(address or "").path if "://" in (address or "") else (address or "")).strip("/")
        mgmt = path.endswith(MGMT)
        path = path[: -len(MGMT)] if mgmt else path
        dlq = path.endswith(DLQ)
        queue = self.queues.get(path[: -len(DLQ)] if dlq else path)
        return (queue.dead if dlq and queue else queue), mgmt


def encoded(entry: Entry, token: uuid.UUID | None, now: float) -> bytes:
    msg = entry.msg
    msg.durable = True  # Service Bus persists every message (and a header makes delivery_count 0, not absent)
    msg.delivery_count = entry.deliveries - 1 if token is not None else entry.deliveries
    msg.annotations = {**(msg.annotations or {}), symbol("x-opt-sequence-number"): entry.seq,
                       symbol("x-opt-enqueued-time"): timestamp(int(entry.enqueued * 1000))}
    if token is not None:
        msg.annotations[symbol("x-opt-locked-until")] = timestamp(int(entry.locked_until * 1000))
    return msg.encode()


def unpack(data: bytes) -> list[Message]:
    """The messages one transfer carries: one, or the SDK's batch envelope, whose body is amqp:data
    sections that each hold an encoded message (proton does not expose the transfer's message format,
    so the envelope is recognised by its sections)."""
    sections, inner = Data(), []
    sections.decode(data)
    while sections.next():
        if sections.type() != Data.DESCRIBED:
            continue
        sections.enter()
        sections.next()
        descriptor = sections.get_object()
        sections.next()
        if descriptor == 0x75:  # amqp:data
            payload = sections.get_binary()
            inner.append(payload if payload[:2] == b"\x00\x53" else None)
        sections.exit()
    if inner and all(p is not None for p in inner):
        out = []
        for payload in inner:
            msg = Message()
            msg.decode(payload)
            out.append(msg)
        return out
    msg = Message()
    msg.decode(data)
    return [msg]


class AmqpHandler(Handler):
    def __init__(self, broker: Broker):
        self.broker = broker
        self.outgoing: list[Link] = []
        self.replies: dict[tuple[int, str], Link] = {}  # (connection key, address) -> the link replies go to
        self.connections = 0

    # ---- endpoints ----
    def on_connection_remote_open(self, event):
        self.connections += 1
        event.connection.skyrelay_key = self.connections  # proton wraps anew per event: id() is not stable
        event.connection.open()

    def on_session_remote_open(self, event):
        event.session.open()

    def on_link_remote_open(self, event):
        link = event.link
        address = link.remote_source.address if link.is_sender else link.remote_target.address
        node = (address or "").strip("/")
        with _lock:
            queue, mgmt = self.broker.entity(address)
        if node != "$cbs" and queue is None:
            link.source.copy(link.remote_source)
            link.target.copy(link.remote_target)
            link.open()
            link.condition = _condition("amqp:not-found", f"The messaging entity '{address}' could not be found.")
            link.close()
            return
        link.source.copy(link.remote_source)
        link.target.copy(link.remote_target)
        link.snd_settle_mode = link.remote_snd_settle_mode
        link.rcv_settle_mode = link.remote_rcv_settle_mode
        link.skyrelay = (address, node == "$cbs" or mgmt)
        link.open()
        if link.is_receiver:
            link.flow(1000)
        elif node == "$cbs" or mgmt:
            self.replies[(link.connection.skyrelay_key, node)] = link
        else:
            self.outgoing.append(link)

    def on_link_remote_close(self, event):
        event.link.close()
        self._forget(event.link)

    def on_session_remote_close(self, event):
        event.session.close()

    def on_connection_remote_close(self, event):
        event.connection.close()

    def on_transport_closed(self, event):
        conn = event.connection
        if conn is not None:
            self.outgoing = [lk for lk in self.outgoing if lk.connection.skyrelay_key != conn.skyrelay_key]
            self.replies = {k: v for k, v in self.replies.items() if k[0] != conn.skyrelay_key}

    def _forget(self, link):
        if link in self.outgoing:
            self.outgoing.remove(link)

    # ---- transfers ----
    def on_link_flow(self, event):
        self.dispatch(time.time())

    def on_delivery(self, event):
        dlv, link = event.delivery, event.link
        if link.is_receiver:
            if dlv.partial or not dlv.readable:
                return
            data = link.recv(dlv.pending)
            link.advance()
            address, control = link.skyrelay
            with _lock:
                if control:
                    for msg in unpack(data):
                        self.request(link, address, msg)
                else:
                    queue, _ = self.broker.entity(address)
                    now = time.time()
                    for msg in unpack(data):
                        queue.add(msg, now)
            dlv.update(Delivery.ACCEPTED)
            dlv.settle()
            link.flow(1)
            self.dispatch(time.time())
        elif dlv.updated and getattr(dlv, "skyrelay_token", None) is not None:
            self.outcome(dlv, link)

    def outcome(self, dlv, link):
        """The receiver settled one of our deliveries on its link (mode second: echo, then settle)."""
        state = dlv.remote_state
        with _lock:
            queue, _ = self.broker.entity(link.skyrelay[0])
            now = time.time()
            if state == Delivery.ACCEPTED:
                queue.settle(dlv.skyrelay_token, "completed", now)
            elif state == Delivery.REJECTED:
                cond = dlv.remote.condition
                info = (cond.info if cond is not None else None) or {}
                queue.settle(dlv.skyrelay_token, "suspended", now, str(info.get("DeadLetterReason", "")),
                             str(info.get("DeadLetterErrorDescription", "")))
            elif state == Delivery.RELEASED:
                queue.settle(dlv.skyrelay_token, "released", now)
            elif state == Delivery.MODIFIED:
                queue.settle(dlv.skyrelay_token, "abandoned", now)
            else:
                return
        dlv.skyrelay_token = None
        dlv.update(state)
        dlv.settle()
        self.dispatch(time.time())

    def dispatch(self, now: float) -> None:
        with _lock:
            for link in list(self.outgoing):
                queue, _ = self.broker.entity(link.skyrelay[0])
                while queue is not None and link.credit > 0 and link.state & Link.LOCAL_ACTIVE:
                    entry = queue.next_ready(now)
                    if entry is None:
                        break
                    presettled = link.snd_settle_mode == Link.SND_SETTLED
                    token = None if presettled else queue.lock(entry, now)
                    if presettled:
                        entry.deliveries += 1
                        queue.drop(entry)
                    dlv = link.delivery((token or uuid.uuid4()).bytes_le)
                    link.send(encoded(entry, token, now))
                    link.advance()
                    if presettled:
                        dlv.settle()
                    else:
                        dlv.skyrelay_token = token

    def tick(self) -> None:
        now = time.time()
        with _lock:
            for queue in self.broker.queues.values():
                queue.expire_locks(now)
                queue.dead.expire_locks(now)
        self.dispatch(now)

    # ---- $cbs and $management ----
    def request(self, link, address: str, msg: Message) -> None:
        node = (address or "").strip("/")
        reply_to = self.replies.get((link.connection.skyrelay_key, node))
        props = msg.properties or {}
        if node == "$cbs":
            status, body = {"status-code": 202, "status-description": "Accepted"}, None
        else:
            queue, _ = self.broker.entity(address)
            status, body = self.management(queue, str(props.get("operation")), msg.body or {})
        if reply_to is not None:
            reply = Message(body=body, correlation_id=msg.id, properties=status)
            reply_to.delivery(uuid.uuid4().bytes)
            reply_to.send(reply.encode())
            reply_to.advance()

    def management(self, queue: Queue, operation: str, body: dict) -> tuple[dict, object]:
        now = time.time()
        ok = {"statusCode": 200, "statusDescription": "OK"}
        if operation == "com.microsoft:update-disposition":
            status = str(body.get("disposition-status"))
            for token in body.get("lock-tokens") or []:
                if not queue.settle(_uuid(token), status, now, str(body.get("deadletter-reason") or ""),
                                    str(body.get("deadletter-description") or "")):
                    return _lost(), {}
            self.dispatch(now)
            return ok, {}
        if operation == "com.microsoft:renew-lock":
            until = [queue.renew(_uuid(t), now) for t in body.get("lock-tokens") or []]
            if None in until:
                return _lost(), {}
            return ok, {"expirations": [timestamp(int(u * 1000)) for u in until]}
        if operation == "com.microsoft:peek-message":
            start, count = int(body.get("from-sequence-number", 0)), int(body.get("message-count", 1))
            entries = sorted((e for e in queue.entries.values() if e.seq >= start), key=lambda e: e.seq)[:count]
            if not entries:
                return {"statusCode": 204, "statusDescription": "No messages"}, {}
            return ok, {"messages": [{"message": encoded(e, None, now)} for e in entries]}
        return {"statusCode": 501, "statusDescription": f"{operation} is not implemented by the test peer",
                "errorCondition": symbol("amqp:not-implemented")}, {}


def _uuid(token) -> uuid.UUID:
    return token if isinstance(token, uuid.UUID) else uuid.UUID(str(token))


def _lost() -> dict:
    return {"statusCode": 410, "statusDescription": "The lock supplied is invalid. Either the lock expired, or the "
                                                    "message has already been removed from the queue.",
            "errorCondition": LOCK_LOST}


def _condition(name: str, description: str):
    from proton import Condition

    return Condition(name, description)


class Ticker:
    def __init__(self, handler: AmqpHandler):
        self.handler = handler

    def on_timer_task(self, event):
        self.handler.tick()
        event.container.schedule(TICK_S, self)


def control_server(broker: Broker, port: int) -> ThreadingHTTPServer:
    class Control(BaseHTTPRequestHandler):
        def _send(self, status: int, doc: dict) -> None:
            raw = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):
            if self.path == "/healthz":
                return self._send(200, {"ok": True})
            name = unquote(self.path.removeprefix("/queues/"))
            with _lock:
                queue = broker.queues.get(name)
                if queue is None:
                    return self._send(404, {"error": f"no queue {name}"})
                return self._send(200, queue.counts(time.time()))

        def do_PUT(self):
            name = unquote(self.path.removeprefix("/queues/"))
            doc = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            with _lock:
                broker.queues[name] = Queue(name, **doc)
            self._send(201, {"name": name})

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Control)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="control").start()
    return server


def main(amqp_port: int, control_port: int) -> None:
    broker = Broker()
    control_server(broker, control_port)
    handler = AmqpHandler(broker)
    container = Container(handler)
    container.listen(f"127.0.0.1:{amqp_port}")
    container.schedule(TICK_S, Ticker(handler))
    print(f"servicebus peer on amqp://127.0.0.1:{amqp_port} (control http://127.0.0.1:{control_port})", flush=True)
    container.run()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
