"""Log volume per birth at info level, as `birthlink up` writes it (JSON): the
embedded stack (SQLite, in-process bus, the five adapters, the sandbox
departments) takes births to completion while every line is counted; prints
bytes per birth, with and without the sandbox's own lines, and the top events.

`python -m bench.logvolume --births 50`.
"""

import argparse
import asyncio
import json
import random
import tempfile
from collections import Counter
from pathlib import Path

from birthlink import logs
from birthlink.samples import birth_event
from tests.support.stack import running_stack


class Counted:
    """A text stream that only counts what is written, by event name."""

    def __init__(self) -> None:
        self.bytes: Counter[str] = Counter()

    def write(self, text: str) -> int:
        for line in text.splitlines(keepends=True):
            try:
                event = str(json.loads(line).get("event", "?"))
            except ValueError:
                event = "?"
            self.bytes[event] += len(line.encode())
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--births", type=int, default=50)
    args = parser.parse_args()
    stream = Counted()
    logs.configure(json=True, level="INFO", stream=stream)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        async with running_stack("inprocess-sqlite", Path(tmp)) as stack:
            stream.bytes.clear()  # start-up lines are not per birth
            rng = random.Random(5)
            posted = [await stack.post(birth_event(rng)) for _ in range(args.births)]
            for response in posted:
                await stack.wait_until_final(response.json()["birth_id"], within=300)
            await asyncio.sleep(1)  # the last SMS and callbacks
            per_birth = dict(stream.bytes)
    total = sum(per_birth.values())
    own = sum(v for k, v in per_birth.items() if not k.startswith("sandbox."))
    print(
        f"log bytes per birth at info: {total / args.births:,.0f} "
        f"(birthlink's own: {own / args.births:,.0f}; the rest: the sandbox departments)"
    )
    for event, size in Counter(per_birth).most_common(12):
        print(f"  {size / args.births:8,.0f}  {event}")


if __name__ == "__main__":
    asyncio.run(main())
