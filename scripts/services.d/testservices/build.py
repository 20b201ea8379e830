"""Everything that happens before a service starts: find the JDKs, fetch jars, compile the ES launcher.

Results are cached under the cache folder and reused while their stamp matches, so a warm start
spends no time here.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .common import SERVICES_D, Layout, ServiceError, env_seconds, say

__all__ = ["Jdk", "kafka_jdk", "elasticsearch_jdk", "kafka_classpath", "elasticsearch_build", "EsBuild"]

MAVEN_DIR = SERVICES_D / "maven"
ES_SOURCES = SERVICES_D / "elasticsearch"
ES_JDK_CANDIDATES = ["/usr/lib/jvm/temurin-25-jdk-amd64", *sorted(glob.glob("/usr/lib/jvm/*-25-*"))]


@dataclass(frozen=True)
class Jdk:
    java: Path
    major: int

    def tool(self, name: str) -> Path:
        return self.java.parent / name


def _java_major(java: Path) -> int | None:
    try:
        result = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr)
    if result.returncode != 0 or not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _find_jdk(purpose: str, minimum: int, env_var: str, homes: list[str], need_javac: bool) -> Jdk:
    configured = os.environ.get(env_var)
    if configured:
        candidates = [Path(configured) / "bin" / "java"]
    else:
        candidates = [Path(home) / "bin" / "java" for home in homes]
        if os.environ.get("JAVA_HOME"):
            candidates.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
        on_path = shutil.which("java")
        if on_path:
            candidates.append(Path(on_path))
    for java in candidates:
        if not java.is_file() or (need_javac and not (java.parent / "javac").is_file()):
            continue
        major = _java_major(java)
        if major is not None and major >= minimum:
            return Jdk(java, major)
    kind = "JDK (with javac)" if need_javac else "Java"
    looked = ", ".join(str(c.parent.parent) for c in candidates) or "nowhere: no java on PATH"
    raise ServiceError(f"no {kind} {minimum}+ for {purpose}; set {env_var} to one (looked at: {looked})")


def kafka_jdk() -> Jdk:
    return _find_jdk("Kafka", 17, "TEST_SERVICES_KAFKA_JAVA_HOME", [], need_javac=False)


def elasticsearch_jdk() -> Jdk:
    return _find_jdk("Elasticsearch", 21, "TEST_SERVICES_ES_JAVA_HOME", ES_JDK_CANDIDATES, need_javac=True)


def _copy_dependencies(pom: str, version_property: str, version: str, out: Path, log: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceError("mvn is not on PATH; install Maven (apt-get install maven) to fetch the test services")
    shutil.rmtree(out, ignore_errors=True)
    command = [mvn, "-B", "-f", str(MAVEN_DIR / pom), "dependency:copy-dependencies",
               f"-D{version_property}={version}", f"-DoutputDirectory={out}"]
    timeout = env_seconds("TEST_SERVICES_MAVEN_TIMEOUT", 900)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out_log:
        out_log.write(f"$ {' '.join(command)}\n".encode())
        out_log.flush()
        try:
            result = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=out_log, stderr=subprocess.STDOUT,
                                    timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ServiceError(f"maven did not finish resolving {pom} {version} within {timeout:.0f} s", log) from None
    if result.returncode != 0:
        raise ServiceError(f"maven could not resolve {pom} {version} from Maven Central (exit {result.returncode})", log)


def kafka_classpath(layout: Layout, version: str) -> Path:
    """The folder of broker jars for `version`, fetched once."""
    dist = layout.kafka_dist(version)
    lib = dist / "lib"
    if (dist / ".resolved").is_file():
        return lib
    say(f"fetching Kafka {version} jars with maven (once)")
    _copy_dependencies("kafka.xml", "kafka.version", version, lib, layout.root / "maven.log")
    (dist / ".resolved").write_text(version + "\n")
    return lib


@dataclass(frozen=True)
class EsBuild:
    lib: Path
    modules: Path
    launcher: Path
    native: Path
    cds_archive: Path

    def classpath(self) -> str:
        # Jars only: class-data sharing refuses class folders on the class path.
        return f"{self.launcher}{os.pathsep}{self.lib / '*'}"


def _artifact(jar: str) -> str:
    """'netty-codec-4.1.135.Final.jar' -> 'netty-codec'."""
    match = re.match(r"(.+?)-\d[^-]*(?:-[^-]+)*\.jar$", jar)
    return match.group(1) if match else jar


def _resolve_elasticsearch(layout: Layout, dist: Path, version: str) -> None:
    say(f"fetching Elasticsearch {version} jars with maven (once)")
    log = layout.root / "maven.log"
    lib, netty = dist / "lib", dist / "transport-netty4.partial"
    _copy_dependencies("elasticsearch.xml", "elasticsearch.version", version, lib, log)
    _copy_dependencies("transport-netty4.xml", "elasticsearch.version", version, netty, log)
    # The module folder holds what the server does not already have, as in a stock distribution.
    on_classpath = {_artifact(jar.name) for jar in lib.glob("*.jar")}
    module = dist / "modules" / "transport-netty4"
    shutil.rmtree(module, ignore_errors=True)
    module.mkdir(parents=True)
    for jar in netty.glob("*.jar"):
        if _artifact(jar.name) not in on_classpath:
            jar.rename(module / jar.name)
    shutil.rmtree(netty)
    plugin_jar = next(module.glob("transport-netty4-*.jar"), None)
    if plugin_jar is None:
        raise ServiceError(f"maven brought no transport-netty4 jar for {version}", log)
    with zipfile.ZipFile(plugin_jar) as jar:
        descriptor = jar.read("META-INF/es-plugins/transport-netty4/plugin-descriptor.properties").decode()
    # No module layer here (the server is on the class path, not the module path): load it the way a
    # stock node loads a non-modular plugin, in its own class loader.
    descriptor = "\n".join(line for line in descriptor.splitlines() if not line.startswith("modulename="))
    (module / "plugin-descriptor.properties").write_text(descriptor + "\n")
    (dist / ".resolved").write_text(version + "\n")


def _sources_digest(version: str, jdk: Jdk) -> str:
    digest = hashlib.sha256(f"{version} java{jdk.major}\n".encode() + Path(__file__).read_bytes())
    for path in sorted(p for p in ES_SOURCES.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(ES_SOURCES)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _javac(jdk: Jdk, classpath: str, sources: Path, out: Path, log: Path) -> None:
    files = sorted(str(p) for p in sources.rglob("*.java"))
    shutil.rmtree(out, ignore_errors=True)
    command = [str(jdk.tool("javac")), "--release", "21", "-nowarn", "-encoding", "UTF-8",
               "-cp", classpath, "-d", str(out), *files]
    with log.open("ab") as out_log:
        out_log.write(f"$ {' '.join(command)}\n".encode())
        out_log.flush()
        try:
            result = subprocess.run(command, stdout=out_log, stderr=subprocess.STDOUT, timeout=300)
        except subprocess.TimeoutExpired:
            raise ServiceError(f"javac did not finish compiling {sources.name} within 300 s", log) from None
    if result.returncode != 0:
        raise ServiceError(f"javac failed to compile the test node's {sources.name} sources", log)


def _jar(classes: Path, jar_path: Path) -> None:
    jar_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(jar_path, "w", zipfile.ZIP_DEFLATED) as jar:
        for path in sorted(classes.rglob("*.class")):
            jar.write(path, path.relative_to(classes).as_posix())
    shutil.rmtree(classes)


def _build_module(jdk: Jdk, lib: Path, source: Path, target: Path, version: str, log: Path) -> None:
    classes = target.with_name(target.name + ".classes")
    _javac(jdk, str(lib / "*"), source / "src", classes, log)
    shutil.rmtree(target, ignore_errors=True)
    _jar(classes, target / f"newswire-{source.name}.jar")
    descriptor = (source / "plugin-descriptor.properties").read_text().replace("@ES_VERSION@", version)
    (target / "plugin-descriptor.properties").write_text(descriptor)


BUILDS_KEPT_DAYS = 7  # a test-node build no checkout has used for this long is deleted


def _link_tree(source: Path, target: Path) -> None:
    """Copy the folder `source` to `target` as hard links (the same bytes, no space), or copies across devices."""
    target.mkdir(parents=True)
    for path in source.iterdir():
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def _prune_builds(builds: Path, keep: Path) -> None:
    cutoff = time.time() - BUILDS_KEPT_DAYS * 86400
    for folder in builds.iterdir():
        stamp = folder / ".built"
        if folder != keep and (not stamp.is_file() or stamp.stat().st_mtime < cutoff):
            shutil.rmtree(folder, ignore_errors=True)


def elasticsearch_build(layout: Layout, version: str, jdk: Jdk) -> EsBuild:
    """Server jars for `version` (fetched once), and the launcher and modules compiled from this checkout.

    The compiled part lives in `builds/<digest of the sources>/`, built aside and renamed into place:
    checkouts whose test-node sources differ (two branches) each get their own build, and a build
    that a running node uses is never rebuilt or changed under it. Call under the cache's lock.
    """
    dist = layout.es_dist(version)
    # A stock node's lib/platform (libvec, libzstd) is not on Maven Central: an empty folder makes
    # the node log one line and run without native methods, instead of a stack trace.
    (dist / "native").mkdir(parents=True, exist_ok=True)
    if not (dist / ".resolved").is_file():
        _resolve_elasticsearch(layout, dist, version)
    folder = dist / "builds" / _sources_digest(version, jdk)[:16]
    build = EsBuild(dist / "lib", folder / "modules", folder / "launcher" / "newswire-test-node.jar",
                    dist / "native", folder / "test-node.jsa")
    stamp = folder / ".built"
    if stamp.is_file() and build.launcher.is_file():
        stamp.touch()  # in use: keep it
        return build
    say("compiling the Elasticsearch test node launcher and modules")
    log = layout.root / "javac.log"
    log.write_bytes(b"")
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    _link_tree(dist / "modules" / "transport-netty4", partial / "modules" / "transport-netty4")
    for source in sorted((ES_SOURCES / "modules").iterdir()):
        _build_module(jdk, build.lib, source, partial / "modules" / source.name, version, log)
    launcher = partial / "launcher" / build.launcher.name
    _javac(jdk, str(build.lib / "*"), ES_SOURCES / "launcher", partial / "launcher.classes", log)
    _jar(partial / "launcher.classes", launcher)
    (partial / ".built").write_text(version + "\n")
    shutil.rmtree(folder, ignore_errors=True)  # an unfinished build of an older run
    partial.rename(folder)
    _prune_builds(folder.parent, folder)
    return build
