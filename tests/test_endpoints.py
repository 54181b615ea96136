"""Endpoints fail in one line, in bounded time: schedulers that never reply or speak another protocol, storage URLs.

Every server here is a socket on 127.0.0.1 that the test opens itself; nothing contacts any other address.
"""

import contextlib
import socket
import threading

import pytest

from empathy_cause.cli import main

pytest.importorskip("distributed")


@contextlib.contextmanager
def _server(reply: bytes | None):
    """A TCP server on 127.0.0.1 that accepts every connection and sends ``reply`` (None: never a byte)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def serve():
        with contextlib.suppress(OSError):
            while True:
                connection, _ = listener.accept()
                accepted.append(connection)
                if reply is not None:
                    connection.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for connection in accepted:
            connection.close()


def _run_in_thread(function, limit=120):
    """``function()``'s result, run in a thread; a hang past ``limit`` seconds fails the test (no timing asserted)."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function()), daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), "still waiting on the server"
    return result["value"]


@pytest.fixture
def short_timeout(monkeypatch):
    import empathy_cause.distributed as dist

    monkeypatch.setattr(dist, "CONNECT_TIMEOUT", 1.0)


@pytest.mark.parametrize("reply, message", [
    (None, "sent no Dask handshake within 1 s"),
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "not with the Dask protocol"),
    (b"\x00" * 8, "not with the Dask protocol"),
])
def test_predict_on_a_scheduler_that_is_not_one_is_one_line(reply, message, tmp_path, capsys, short_timeout):
    model = tmp_path / "no-model"   # the scheduler is checked first: no model is needed to see the error
    with _server(reply) as address:
        status = _run_in_thread(lambda: main(["predict", "--model", str(model), "--data", "demo", "--quiet",
                                              "--scheduler", address, "--out", str(tmp_path / "scores")]))
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err, err
    assert message in err and address in err
    assert not (tmp_path / "scores").exists()


def test_connect_refuses_silent_and_foreign_servers_in_bounded_time(short_timeout):
    from empathy_cause.distributed import connect

    for reply in (None, b"SSH-2.0-OpenSSH_9.6\r\n" * 3):
        with _server(reply) as address:
            error = _run_in_thread(lambda: _raised(lambda: connect(address)))
        assert isinstance(error, OSError) and address in str(error)
    closed = socket.create_server(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    assert "cannot reach a Dask scheduler" in str(_raised(lambda: connect(address)))
    assert "not a scheduler address" in str(_raised(lambda: connect("tcp://127.0.0.1:notaport")))


def _raised(function):
    try:
        function()
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc
    raise AssertionError("no error raised")
