"""``req.io``: one test per row of API.md's RequestIO table, plus forwarding chains, threads,
failures and the express.io bugs we must not repeat — through the python-socketio client."""

from __future__ import annotations

from .conftest import SLOW, Connect


async def test_emit_reaches_this_client_only(connect: Connect) -> None:
    sender, other = await connect(), await connect()
    assert await sender.call("emit_self", {"n": 1}) == "sent"
    # emit without data sends no argument; the ack travelled after both emits
    assert sender.inbox.of("to_self") == [{"n": 1}]
    assert sender.inbox.of("to_self_empty") == [None]
    assert await other.call("echo", "fence") == "fence"
    assert "to_self" not in other.inbox.events()


async def test_emit_callback_receives_the_client_ack_spread(connect: Connect) -> None:
    client = await connect(answers={"question": ("yes", 42)})
    await client.emit("emit_callback", "ready?")
    assert await client.inbox.wait_for("answer") == [["yes", 42]]
    assert client.inbox.of("question") == ["ready?"]


async def test_emit_with_ack_resolves_to_one_value_or_a_tuple(connect: Connect) -> None:
    single = await connect(answers={"question": "only"})
    assert await single.call("emit_with_ack", {"timeout": 5}) == {"answer": "only"}
    several = await connect(answers={"question": (1, 2)})
    assert await several.call("emit_with_ack", {"timeout": 5}) == {"answer": [1, 2]}


async def test_emit_with_ack_with_no_arguments_resolves_to_none(connect: Connect) -> None:
    client = await connect()  # its handler returns None: an ack without arguments
    assert await client.call("emit_with_ack", {"timeout": 5}) == {"answer": None}


async def test_emit_with_ack_times_out(connect: Connect) -> None:
    slow = await connect(answers={"question": SLOW})
    assert await slow.call("emit_with_ack", {"timeout": 0.2}) == {"timeout": True}
    # the server stopped waiting: a client that never answers does not grow its ack table
    assert await slow.call("pending_acks") == 0
    assert await slow.call("echo", "late ack ignored") == "late ack ignored"


async def test_emit_with_ack_from_a_def_route_waits_with_result(connect: Connect) -> None:
    client = await connect(answers={"question": "from thread"})
    assert await client.call("emit_with_ack_sync", "q") == {"answer": "from thread"}


async def test_respond_answers_the_ack_with_every_argument(connect: Connect) -> None:
    client = await connect()
    assert await client.call("echo", {"a": [1, 2]}) == {"a": [1, 2]}
    assert await client.call("echo_async", "async") == "async"
    # express.io crashed on an ack with extra arguments; here they all come back
    assert await client.call("args", "one", 2, {"three": 3}) == ["one", 2, {"three": 3}]


async def test_respond_answers_once(connect: Connect) -> None:
    client = await connect()
    assert await client.call("respond_twice") == "first"
    assert await client.call("echo", "still fine") == "still fine"


async def test_respond_without_an_ack_is_a_no_op(connect: Connect) -> None:
    client = await connect()
    await client.emit("no_ack_respond", "x")
    assert await client.inbox.wait_for("after_respond") == ["x"]


async def test_broadcast_reaches_everyone_but_the_sender(connect: Connect) -> None:
    sender, first, second = await connect(), await connect(), await connect()
    assert await sender.call("broadcast", {"hi": "all"}) == "done"
    for receiver in (first, second):
        await receiver.inbox.wait_for("fence")
        assert receiver.inbox.of("shout") == [{"hi": "all"}]
    await sender.inbox.wait_for("fence")
    assert "shout" not in sender.inbox.events()


async def test_room_broadcast_reaches_the_room_but_not_the_sender(connect: Connect) -> None:
    sender, member, outsider = await connect(), await connect(), await connect()
    await sender.call("join", "hipster")
    assert await member.call("join", "hipster") == ["hipster", "lobby"]
    await sender.call("room_broadcast", {"room": "hipster", "message": "hey"})
    for client in (sender, member, outsider):
        await client.inbox.wait_for("fence")
    assert member.inbox.of("room_message") == ["hey"]
    assert "room_message" not in sender.inbox.events()
    assert "room_message" not in outsider.inbox.events()


async def test_room_broadcast_sender_need_not_be_in_the_room(connect: Connect) -> None:
    sender, member = await connect(), await connect()
    await member.call("join", "vinyl")
    await sender.call("room_broadcast", {"room": "vinyl", "message": "spin"})
    await member.inbox.wait_for("fence")
    assert member.inbox.of("room_message") == ["spin"]


async def test_join_and_leave(connect: Connect) -> None:
    client, other = await connect(), await connect()
    assert await client.call("join", "a") == ["a", "lobby"]
    assert await client.call("join", "b") == ["a", "b", "lobby"]
    assert await client.call("leave", "a") == ["b", "lobby"]
    await other.call("room_broadcast", {"room": "a", "message": "left already"})
    await client.inbox.wait_for("fence")
    assert "room_message" not in client.inbox.events()


async def test_forwarding_chain_runs_in_order_with_the_same_req(connect: Connect) -> None:
    client = await connect()
    assert await client.call("chain_a", "payload") == "chain done"
    assert client.inbox.of("step") == ["a", "b", "c with payload", "a after b"]


async def test_forward_to_unknown_route_answers_the_ack_and_grows_nothing(
    connect: Connect,
) -> None:
    client = await connect()
    before = await client.call("route_count")
    for _ in range(20):
        assert await client.call("forward_unknown") == {"error": "Unknown route: no-such-route"}
        assert await client.call("chain_a", 1) == "chain done"
    assert await client.call("route_count") == before
    assert await client.call("echo", "alive") == "alive"


async def test_forward_to_a_failing_route_fails_the_ack_and_the_caller_goes_on(
    connect: Connect,
) -> None:
    client = await connect()
    assert await client.call("forward_to_failing") == {"error": "Internal Server Error"}
    assert await client.inbox.wait_for("after_failed_forward") == ["still running"]


async def test_disconnect_closes_this_client_only(connect: Connect) -> None:
    leaving, staying = await connect(), await connect()
    await leaving.emit("disconnect_me")
    for _ in range(100):
        if not leaving.sio.connected:
            break
        await leaving.sio.sleep(0.05)
    assert not leaving.sio.connected
    assert await staying.call("echo", "still here") == "still here"


async def test_emits_from_a_def_route_keep_their_order(connect: Connect) -> None:
    client = await connect()
    thread_name = await client.call("thread_emits")
    assert thread_name != "MainThread"
    # the ack was sent after the 50 emits, from the same worker thread
    assert client.inbox.of("number") == list(range(50))


async def test_emits_from_a_background_thread_keep_their_order(connect: Connect) -> None:
    client = await connect()
    await client.emit("background_thread")
    await client.inbox.wait_for("background_done")
    assert client.inbox.of("background") == list(range(20))


async def test_handler_exceptions_answer_the_ack_and_everyone_carries_on(
    connect: Connect,
) -> None:
    client, other = await connect(), await connect()
    assert await client.call("boom") == {"error": "Internal Server Error"}
    assert await client.call("boom_async") == {"error": "Internal Server Error"}
    assert await client.call("bad_payload") == {"error": "Internal Server Error"}
    await client.emit("boom")  # no ack asked: logged, nothing sent
    assert await client.call("echo", "alive") == "alive"
    assert await other.call("echo", "alive too") == "alive too"


async def test_emitting_a_reserved_name_raises(connect: Connect) -> None:
    client = await connect()
    refused = await client.call("emit_reserved")
    assert refused == ["connect", "disconnect", "error", "message", "reconnect", "newListener"]
    assert not {"connect", "error", "message"} & set(client.inbox.events())


async def test_io_on_adds_a_route_for_this_client_only(connect: Connect) -> None:
    # express.io's req.io.on always threw
    client, other = await connect(), await connect()
    assert await client.call("listen") == "listening"
    assert await client.call("private", 7) == "private 7"
    await other.emit("private", 8)
    assert await other.call("echo", "fence") == "fence"
    assert other.inbox.events() == []


async def test_namespaced_route_table(connect: Connect) -> None:
    client = await connect()
    assert await client.call("todo:create", {"title": "x"}) == ["created", {"title": "x"}]
    assert await client.call("todo:update", 3) == ["updated", 3]

