"""The test Elasticsearch node: the launcher in elasticsearch/launcher on the server jars, on loopback."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from .build import EsBuild, Jdk
from .common import spawn

__all__ = ["JVM_OPTIONS", "launch", "probe"]

# The memory and JVM flags of a stock node's jvm.options that matter here, with a test-sized heap.
JVM_OPTIONS = [
    "-Xms512m", "-Xmx1g", "-XX:+UseG1GC",
    "--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector",
    "-Dfile.encoding=UTF-8", "-Djava.locale.providers=CLDR", "-Djava.awt.headless=true",
    "-Dio.netty.noUnsafe=true", "-Dio.netty.noKeySetOptimization=true",
    "-Dio.netty.recycler.maxCapacityPerThread=0",
    "-Dlog4j.shutdownHookEnabled=false", "-Dlog4j2.disable.jmx=true", "-Dlog4j2.formatMsgNoLookups=true",
    "-XX:-OmitStackTraceInFastThrow",
]


def launch(jdk: Jdk, build: EsBuild, workdir: Path, http_port: int, transport_port: int, log: Path,
           settings: dict[str, str] | None = None, fresh: bool = True) -> int:
    """Start the node; `settings` are extra node settings, `fresh=False` keeps the data of the run before."""
    home = workdir / "home"
    if fresh:
        shutil.rmtree(home, ignore_errors=True)
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    command = [
        str(jdk.java), *JVM_OPTIONS, f"-Djava.io.tmpdir={home / 'tmp'}", f"-Des.nativelibs.path={build.native}",
        # Class-data sharing: the first run writes the archive at exit, later runs start from it.
        # -Xlog:cds/aot=off: the JDK's base archive was dumped without --add-modules, which it reports
        # as an "error" on every start although it only turns off one optimisation.
        "-XX:+AutoCreateSharedArchive", f"-XX:SharedArchiveFile={build.cds_archive}", "-Xlog:cds=off", "-Xlog:aot=off",
        "-cp", build.classpath(), "newswire.testnode.TestNode",
        str(home), str(build.modules), str(http_port), str(transport_port),
        *(f"{key}={value}" for key, value in (settings or {}).items()),
    ]
    return spawn(command, log, workdir, append=not fresh)


def _get(url: str, timeout: float) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, dict(response.headers), json.loads(response.read() or b"{}")


def probe(port: int, timeout: float = 5.0) -> str | None:
    """None if GET / answers as Elasticsearch and the cluster is at least yellow, else why not."""
    base = f"http://127.0.0.1:{port}"
    try:
        status, headers, body = _get(base + "/", timeout)
        product = {k.lower(): v for k, v in headers.items()}.get("x-elastic-product")
        if status != 200 or product != "Elasticsearch":
            return f"GET / answered {status} with X-Elastic-Product={product!r}"
        status, _, health = _get(f"{base}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout)
        if health.get("status") not in ("green", "yellow"):
            return f"cluster health is {health.get('status')!r}"
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code} from {e.url}"
    except (OSError, ValueError) as e:
        return str(getattr(e, "reason", e)) or type(e).__name__
    return None
