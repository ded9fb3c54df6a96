"""`birthlink up` as a user runs it (issue 11, item 2): on its first start it makes
this installation's keys and secrets and says where; births complete, the
sandbox's callbacks signed with the generated secrets; a callback signed with
the published development secret is refused; a second start reads the same
file and still opens what the first one sealed, and points out a published value
set in the environment."""

import asyncio
import hashlib
import hmac
import json
import os
import re
import time
from pathlib import Path

import httpx
import pytest

from birthlink.installation import read_env_file, secret_names
from birthlink.samples import birth_event
from tests.support.processes import BIRTHLINK
from tests.support.servers import bound_socket, healthy, url_of, wait_for
from tests.support.up import stop

pytestmark = pytest.mark.e2e

KEY = re.compile(r"demo hospital:\s+\S+\s+key: (\S+)")
SECRETS = re.compile(r"keys, secrets:\s+(\S+)")


async def start_up(
    tmp_path: Path, log: Path, **extra: str
) -> tuple[asyncio.subprocess.Process, str]:
    """`birthlink up` in `tmp_path`, with no key or secret from the environment
    but `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIRTHLINK_")}
    # The births posted here are the Zhejiang demo's: the `five` profile (tests/conftest.py).
    env = env | {"BIRTHLINK_PROFILE": os.environ.get("BIRTHLINK_PROFILE", "five")} | extra
    env.update(BIRTHLINK_DATABASE_URL=str(tmp_path / "birthlink.db"), BIRTHLINK_LATER_DELAY_S="0.3")
    sock = bound_socket()
    url = url_of(sock)
    sock.close()
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *BIRTHLINK,
            "--console-logs",
            "up",
            "--port",
            url.rsplit(":", 1)[1],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=out,
        )

    async def printed_key() -> bool:
        if process.returncode is not None:
            raise AssertionError((await asyncio.to_thread(log.read_text))[-3000:])
        printed = await asyncio.to_thread(log.read_text)
        return await healthy(url) and KEY.search(printed) is not None

    await wait_for(printed_key, within=60, what="birthlink up")
    return process, url


def signed(secret: str, body: bytes) -> str:
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


async def test_up_makes_its_own_secrets_completes_births_and_keeps_them_on_restart(
    tmp_path: Path,
) -> None:
    process, url = await start_up(tmp_path, tmp_path / "first.log")
    try:
        printed = await asyncio.to_thread((tmp_path / "first.log").read_text)
        path = Path(SECRETS.search(printed)[1])  # type: ignore[index]
        assert path == tmp_path / "birthlink.secrets.env"
        made = await asyncio.to_thread(path.read_bytes)
        values = read_env_file(path)
        assert set(values) == set(secret_names())
        assert "dev-" not in made.decode()
        assert "development values in use" not in printed

        key = KEY.search(printed)[1]  # type: ignore[index]
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            posted = await http.post("/v1/births", json=birth_event())
            assert posted.status_code == 202, posted.text
            birth_id = posted.json()["birth_id"]

            async def completed() -> bool:
                status: str = (await http.get(f"/v1/births/{birth_id}")).json()["status"]
                return status == "completed"

            # Household registration and the card answer later, by signed callback.
            await wait_for(completed, within=60, what="the birth completed")

            body = json.dumps({"reference": "x", "status": "approved"}).encode()
            forged = await http.post(
                "/v1/callbacks/mps",
                content=body,
                headers={"X-Birthlink-Signature": signed("dev-mps-secret", body)},
            )
            assert forged.status_code == 401
    finally:
        await stop(process)

    # The environment wins over the file; a published value is pointed out.
    lookup = {"BIRTHLINK_LOOKUP_KEY": "dev-lookup-key"}
    process, url = await start_up(tmp_path, tmp_path / "second.log", **lookup)
    try:
        printed = await asyncio.to_thread((tmp_path / "second.log").read_text)
        assert Path(SECRETS.search(printed)[1]) == path  # type: ignore[index]
        assert await asyncio.to_thread(path.read_bytes) == made
        assert "published development values in use: BIRTHLINK_LOOKUP_KEY" in printed
        key = KEY.search(printed)[1]  # type: ignore[index]
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            birth = (await http.get(f"/v1/births/{birth_id}")).json()
            assert birth["status"] == "completed"  # opened under the same data keys
            citizen = next(s for s in birth["steps"] if s["step"] == "household_registration")
            assert citizen["output"]["citizen_id"]
    finally:
        await stop(process)


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TRACKING_CODE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b")
LOG_LINE = re.compile(r"\[(debug|info|warning|error|critical)\s*\]|\"event\":")


async def test_on_a_terminal_the_demo_stays_clean_and_the_logs_go_to_a_file(
    tmp_path: Path,
) -> None:
    """`birthlink up --demo 3` on a terminal (a pseudo-terminal here): the progress
    bar and the outcome table are not interleaved with log lines; the logs are in
    the file whose path it prints."""
    import fcntl
    import pty
    import struct
    import termios

    env = {k: v for k, v in os.environ.items() if not k.startswith("BIRTHLINK_")}
    env.update(BIRTHLINK_DATABASE_URL=str(tmp_path / "birthlink.db"), TERM="xterm", COLUMNS="120")
    sock = bound_socket()
    port = url_of(sock).rsplit(":", 1)[1]
    sock.close()
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    process = await asyncio.create_subprocess_exec(
        *BIRTHLINK, "up", "--port", port, "--demo", "3",
        env=env, cwd=tmp_path, stdin=follower, stdout=follower, stderr=follower,
    )  # fmt: skip
    os.close(follower)
    screen = bytearray()

    async def demo_ended() -> bool:
        if process.returncode is not None:
            raise AssertionError(screen.decode(errors="replace")[-3000:])
        try:
            screen.extend(await asyncio.to_thread(os.read, leader, 65536))
        except OSError:  # the terminal closed
            return False
        return b"Still serving" in screen

    try:
        await wait_for(demo_ended, within=120, what="the demo's outcome table")
    finally:
        await stop(process)
        os.close(leader)
    text = ANSI.sub("", screen.decode(errors="replace"))
    assert "birthlink is up" in text, text[-3000:]
    assert "How each birth ended" in text, text[-3000:]
    assert len(set(TRACKING_CODE.findall(text))) == 3, text[-3000:]  # a row per birth
    assert not LOG_LINE.search(text), text[-3000:]
    logged = re.search(r"logs:\s+(\S+)", text)
    assert logged is not None, text[-3000:]
    lines = (await asyncio.to_thread(Path(logged.group(1)).read_text)).splitlines()
    assert lines
    assert all(json.loads(line)["event"] for line in lines)
