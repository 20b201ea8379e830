"""`newswire serve`: loopback by default, one clear line when it cannot start."""

from __future__ import annotations

import pytest

from pipeline.cli import build_parser, main
from pipeline.commands.serve import allowed_hosts, listen
from pipeline.errors import ConfigError


def test_it_binds_loopback_on_port_8080_unless_told_otherwise():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8080)


def test_on_loopback_only_loopback_host_names_are_accepted():
    assert allowed_hosts("127.0.0.1") == ["127.0.0.1", "::1", "localhost"]
    assert allowed_hosts("127.0.0.5") == ["127.0.0.1", "127.0.0.5", "::1", "localhost"]
    assert allowed_hosts("localhost") == ["127.0.0.1", "::1", "localhost"]
    assert allowed_hosts("0.0.0.0") is None and allowed_hosts("192.0.2.10") is None


def test_a_port_in_use_is_one_clear_error():
    taken = listen("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"cannot listen on 127.0.0.1:{port}: Address already in use"):
            listen("127.0.0.1", port)
    finally:
        taken.close()


def test_a_port_out_of_range_is_refused():
    with pytest.raises(ConfigError, match="--port must be between 0 and 65535"):
        listen("127.0.0.1", 70000)


def test_serving_before_anything_was_indexed_says_what_to_do(tmp_path, write_config, capsys):
    config = write_config(data_dir=str(tmp_path / "nothing"))
    assert main(["serve", "-c", str(config), "--port", "0"]) == 1
    error = capsys.readouterr().err
    assert "nothing is indexed yet" in error and "newswire run --once" in error and "Traceback" not in error
