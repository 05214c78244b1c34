"""Nothing wrong is ever served: a build killed at any rename, a bit-flipped cache, two builders at once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import bot.retrieval.index as index_module
from bot.config import Settings
from bot.errors import Busy
from bot.knowledge.corpus import load_corpus
from bot.retrieval.answering import AnswerService
from bot.retrieval.durable import LOCK_NAME, FolderLock, is_temporary, staged
from bot.retrieval.embedding import Embedder
from bot.retrieval.embedding_cache import EmbeddingCache
from bot.retrieval.index import IndexStore
from tests.conftest import REPO
from tests.notes_factory import write_small_corpus

QUESTIONS = ["what does the chain rule say about nested functions?", "how do I update a belief with evidence?",
             "how does gradient descent pick the next weights?", "what temperature should I grill a steak at?"]

# Runs `studybot index build` and kills it (os._exit, as abrupt as kill -9) just before its Nth rename or
# replace inside the index folder; renames elsewhere (none expected) are not counted.
CRASH_DRIVER = """
import os, sys
target, index_dir, calls = int(sys.argv[1]), os.path.realpath(sys.argv[2]), [0]
def crashing(real):
    def wrapper(src, dst, *args, **kwargs):
        if os.path.realpath(dst).startswith(index_dir):
            calls[0] += 1
            if calls[0] == target:
                os._exit(86)
        return real(src, dst, *args, **kwargs)
    return wrapper
os.replace, os.rename = crashing(os.replace), crashing(os.rename)
from bot.cli import main
sys.argv = ["studybot", "index", "build"]
main()
"""


def second_version(corpus: Path) -> Path:
    """The small corpus after a note moved discipline: the same chunk texts and count, in another order.

    That is the change that once paired cached keys with the wrong vectors after a crash, and it needs no
    embedding, so the crashing builds never load the model.
    """
    moved = corpus / "statistics" / "bayes-theorem.md"
    (corpus / "biology").mkdir()
    (corpus / "biology" / "bayes-theorem.md").write_text(moved.read_text().replace("discipline: statistics",
                                                                                   "discipline: biology"))
    moved.unlink()
    return corpus


def served(index_dir: Path, embedder: Embedder, tmp_path: Path) -> tuple[str, list[dict], dict[str, np.ndarray]]:
    """What the live index serves: its corpus hash, its answers to QUESTIONS and its vector per chunk key.

    The service is pointed at an empty corpus folder, so it serves the live index with the notes snapshot
    inside it (the "corpus on disk is broken" path) and never builds.
    """
    empty = tmp_path / f"empty-{time.monotonic_ns()}"
    empty.mkdir()
    service = AnswerService(Settings(corpus_dir=empty, index_dir=index_dir, _env_file=None), embedder=embedder)
    assert service.ensure_ready() is None
    loaded = service.state.loaded
    vectors = {c.key: loaded.faiss_index.reconstruct(i) for i, c in enumerate(loaded.chunks)}
    answers = [a.to_json() for a in service.answer_many(QUESTIONS)]
    return loaded.manifest.corpus_hash, answers, vectors


def assert_same_vectors(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert set(got) == set(want)
    wrong = [k for k in want if not np.allclose(got[k], want[k], atol=1e-5)]
    assert not wrong, f"{len(wrong)} chunk(s) hold another text's vector"


def leftovers(index_dir: Path) -> list[str]:
    """Everything in the index folder that a finished build should not leave."""
    found = [str(p.relative_to(index_dir)) for p in index_dir.rglob("*") if is_temporary(p.name)]
    found += [p.name for p in index_dir.iterdir() if p.name not in {"CURRENT", LOCK_NAME, "builds", "cache", "onnx"}]
    found += [p.name for p in (index_dir / "cache").iterdir() if not p.name.endswith(".vectors.npy")]
    return found


def count_index_renames(store: IndexStore, corpus, embedder, monkeypatch) -> int:
    calls = []
    for name in ("replace", "rename"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda src, dst, *a, _real=real, **k: (calls.append(dst), _real(src, dst, *a, **k))[1])
    store.build(corpus, embedder)
    monkeypatch.undo()
    return sum(1 for dst in calls if Path(dst).resolve().is_relative_to(store.root.resolve()))


@pytest.mark.model
def test_build_killed_at_every_rename_never_serves_anything_wrong(tmp_path, onnx_embedder, monkeypatch):
    # The default path (ONNX int8): the artifact sits in the index folder, so no build here exports it.
    embedder = onnx_embedder
    v1 = write_small_corpus(tmp_path / "v1")
    v2 = second_version(write_small_corpus(tmp_path / "v2"))
    base = tmp_path / "base"
    shutil.copytree(embedder.dir, base / "onnx" / embedder.dir.name)
    IndexStore(base).build(load_corpus(v1), embedder)
    old_hash, old_answers, _ = served(base, embedder, tmp_path)

    clean = tmp_path / "clean"
    IndexStore(clean).build(load_corpus(v2), embedder)
    new_hash, new_answers, new_vectors = served(clean, embedder, tmp_path)
    assert new_answers != old_answers  # the two versions are told apart

    counted = tmp_path / "counted"
    shutil.copytree(base, counted)
    renames = count_index_renames(IndexStore(counted), load_corpus(v2), embedder, monkeypatch)
    assert renames >= 3  # the build folder, the embedding cache, CURRENT

    # Every crash point at once (each in its own copy), plus one run that must not reach a crash point.
    env = {**os.environ, "STUDYBOT_CORPUS_DIR": str(v2), "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    runs = {}
    for n in range(1, renames + 2):
        shutil.copytree(base, tmp_path / f"crash-{n}")
        runs[n] = subprocess.Popen([sys.executable, "-c", CRASH_DRIVER, str(n), str(tmp_path / f"crash-{n}")],
                                   env={**env, "STUDYBOT_INDEX_DIR": str(tmp_path / f"crash-{n}")},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for n, proc in runs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == (0 if n > renames else 86), (n, out.decode(), err.decode()[-2000:])

    for n in range(1, renames + 1):
        index_dir = tmp_path / f"crash-{n}"
        live_hash, answers, _ = served(index_dir, embedder, tmp_path)
        # The swap of CURRENT is the last rename, so before any of them the old index is the live one.
        assert (live_hash, answers) == (old_hash, old_answers), f"killed before rename {n}"
        _, report = IndexStore(index_dir).build(load_corpus(v2), embedder)  # the next build succeeds
        assert report.rebuilt and report.cache_problem is None
        live_hash, answers, vectors = served(index_dir, embedder, tmp_path)
        assert (live_hash, answers) == (new_hash, new_answers), f"killed before rename {n}"
        assert_same_vectors(vectors, new_vectors)
        assert leftovers(index_dir) == [], f"killed before rename {n}"
    finished = tmp_path / f"crash-{renames + 1}"
    assert served(finished, embedder, tmp_path)[:2] == (new_hash, new_answers)
    assert leftovers(finished) == []


def flip_byte(path: Path, offset_from_end: int) -> None:
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.model
@pytest.mark.parametrize("where", ["vector", "key", "checksum"])
def test_a_bit_flipped_cache_entry_is_detected_and_re_embedded(tmp_path, small_corpus, seeded_index_dir,
                                                                small_embedding_cache, counting_embedder, where,
                                                                caplog):
    store = IndexStore(seeded_index_dir)
    corpus = load_corpus(small_corpus)
    _, clean_report = store.build(corpus, counting_embedder)
    assert clean_report.embedded == 0  # everything came from the (verified) cache
    cache = EmbeddingCache(seeded_index_dir / "cache", counting_embedder.name)
    records = np.load(cache.path)
    record_size, dim = records.dtype.itemsize, records.dtype["vector"].shape[0]
    # The last record sits at the end of the file: key (32 bytes), checksum (16), then the vector.
    offset = {"vector": 4 * dim // 2, "key": record_size - 5, "checksum": 4 * dim + 3}[where]
    flip_byte(cache.path, offset)
    np.load(cache.path)  # still a well-formed .npy: only verification can tell

    (seeded_index_dir / "CURRENT").unlink()  # force a real build that reads the cache
    with caplog.at_level("WARNING", logger="studybot.index"):
        loaded, report = store.build(corpus, counting_embedder)
    assert report.embedded == 1 and "1 cached vector(s) failed verification" in report.cache_problem
    assert "failed verification" in caplog.text and "failed verification" in report.summary
    clean = EmbeddingCache(small_embedding_cache, counting_embedder.name).load().entries  # the session's, unflipped
    assert_same_vectors({c.key: loaded.faiss_index.reconstruct(i) for i, c in enumerate(loaded.chunks)}, clean)
    assert EmbeddingCache(cache.folder, counting_embedder.name).load().rejected == 0  # rewritten clean


@pytest.mark.model
def test_a_truncated_cache_is_discarded_whole_with_a_warning(seeded_index_dir, small_corpus, counting_embedder):
    cache = EmbeddingCache(seeded_index_dir / "cache", counting_embedder.name)
    cache.path.write_bytes(cache.path.read_bytes()[:-700])
    assert EmbeddingCache(cache.folder, counting_embedder.name).load().unreadable
    loaded, report = IndexStore(seeded_index_dir).build(load_corpus(small_corpus), counting_embedder)
    assert report.embedded == len(loaded.chunks) and "unreadable" in report.cache_problem


def test_a_cache_file_from_another_model_verifies_nothing(seeded_index_dir, embedder):
    source = EmbeddingCache(seeded_index_dir / "cache", embedder.name)
    other = EmbeddingCache(seeded_index_dir / "cache", "some-other-model")
    shutil.copy(source.path, other.path)
    found = other.load()
    assert found.entries == {} and found.rejected == len(np.load(source.path))


def test_nothing_changed_writes_no_new_build_and_loads_no_model(small_settings, embedder):
    store = IndexStore(small_settings.index_dir)
    corpus = load_corpus(small_settings.corpus_dir)
    store.build(corpus, embedder)
    before = {p: p.stat().st_mtime_ns for p in small_settings.index_dir.rglob("*") if p.name != LOCK_NAME}
    unloaded = Embedder(embedder.name)
    loaded, report = store.build(corpus, unloaded)
    assert not report.rebuilt and report.summary.startswith("index already up to date")
    assert unloaded._model is None
    assert {p: p.stat().st_mtime_ns for p in small_settings.index_dir.rglob("*") if p.name != LOCK_NAME} == before
    assert loaded.path == store.current_dir()


def test_every_publishing_rename_is_preceded_by_fsyncs_and_followed_by_the_folders(small_settings, embedder,
                                                                                    monkeypatch):
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                 real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda src, dst: (events.append(("replace", f"{src}\0{dst}")),
                                                         real_replace(src, dst))[1])
    IndexStore(small_settings.index_dir).build(load_corpus(small_settings.corpus_dir), embedder)
    monkeypatch.undo()

    replaces = [i for i, (kind, _) in enumerate(events) if kind == "replace"]
    assert len(replaces) >= 3  # the build folder, the embedding cache, CURRENT
    for i in replaces:
        src, dst = (Path(p) for p in events[i][1].split("\0"))
        # A folder's files and the folder itself, or the file, must be on disk before the name is published.
        needed = {src, *(src / child.name for child in dst.iterdir())} if dst.is_dir() else {src}
        synced_before = {Path(p) for kind, p in events[:i] if kind == "fsync"}
        assert needed <= synced_before, f"renamed {src.name} before its content was durable"
        assert events[i + 1:i + 2] == [("fsync", str(dst.parent))], f"renamed {src.name} without syncing {dst.parent}"


def test_a_build_sweeps_every_kind_of_temporary_file(small_settings, embedder):
    index_dir = small_settings.index_dir
    store = IndexStore(index_dir)
    corpus = load_corpus(small_settings.corpus_dir)
    store.build(corpus, embedder)
    dead = 999_999_999  # above any pid_max: no live process has it
    crashed = [index_dir / f".CURRENT.{dead}.tmp", index_dir / "cache" / f".m.npy.{dead}.tmp.npy",
               index_dir / "cache" / f".m.vectors.npy.{dead}.3.tmp", index_dir / "builds" / f".tmp-2024-{dead}" / "x",
               index_dir / "builds" / f".20240101T000000-abc.{dead}.0.tmp" / "chunks.jsonl",
               index_dir / "onnx" / f".m-int8.{dead}.tmp" / "model.onnx",  # a half-written ONNX export
               index_dir / f".CURRENT.{os.getpid()}.7.tmp"]  # this process, but not being written: a leftover
    for path in crashed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half written")
    _, report = store.build(corpus, embedder)
    assert not report.rebuilt  # nothing changed, yet the sweep ran
    assert leftovers(index_dir) == []


def test_the_sweep_spares_what_a_live_writer_is_writing(small_settings, embedder):
    index_dir = small_settings.index_dir
    store = IndexStore(index_dir)
    corpus = load_corpus(small_settings.corpus_dir)
    store.build(corpus, embedder)
    other_process = index_dir / "cache" / f".m.vectors.npy.{os.getppid()}.0.tmp"  # e.g. the bot's server cache
    other_process.write_bytes(b"being written")
    with staged(index_dir / "cache" / "x.vectors.npy") as this_process:  # e.g. another thread of this process
        this_process.write_bytes(b"being written")
        assert not store.build(corpus, embedder)[1].rebuilt
        assert this_process.exists() and other_process.exists()
    assert not this_process.exists()  # the block ended without publishing: removed


def test_two_builders_in_one_folder_never_interleave(tmp_path, small_settings, embedder, monkeypatch):
    corpus_a = load_corpus(small_settings.corpus_dir)
    corpus_b = load_corpus(second_version(write_small_corpus(tmp_path / "b")))
    intervals: list[tuple[float, float]] = []
    b_started = threading.Event()
    real_build, real_write = IndexStore._build_locked, index_module.faiss.write_index

    def timed_build(self, *args, **kwargs):
        start = time.monotonic()
        try:
            return real_build(self, *args, **kwargs)
        finally:
            intervals.append((start, time.monotonic()))

    def slow_write(*args):
        b_started.wait(5)
        time.sleep(0.5)  # B has every chance to enter now, unless something keeps it out
        real_write(*args)

    monkeypatch.setattr(IndexStore, "_build_locked", timed_build)
    monkeypatch.setattr(index_module.faiss, "write_index", slow_write)
    results: dict[str, object] = {}

    def run(name, corpus, started=None):
        if started:
            started.set()
        try:
            results[name] = IndexStore(small_settings.index_dir).build(corpus, embedder)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    a = threading.Thread(target=run, args=("a", corpus_a))
    a.start()
    time.sleep(0.2)
    b = threading.Thread(target=run, args=("b", corpus_b, b_started))
    b.start()
    a.join(30)
    b.join(30)
    monkeypatch.undo()
    assert not any(isinstance(r, Exception) for r in results.values()), results
    (s1, e1), (s2, e2) = sorted(intervals)
    assert e1 <= s2, "the two builds ran at the same time"
    live = IndexStore(small_settings.index_dir).load(embedder.name)  # consistent: checksums verified
    assert live.manifest.corpus_hash == corpus_b.content_hash  # B waited, then built last
    assert leftovers(small_settings.index_dir) == []
    assert len(list((small_settings.index_dir / "builds").iterdir())) <= 2


HOLD_LOCK = """
import sys, time
from bot.retrieval.durable import FolderLock
with FolderLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock(folder: Path, seconds: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder), str(seconds)], env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_build_waits_for_a_build_in_another_process(small_settings, embedder):
    holder = hold_lock(small_settings.index_dir, 1.5)
    started = time.monotonic()
    _, report = IndexStore(small_settings.index_dir, lock_timeout=60).build(
        load_corpus(small_settings.corpus_dir), embedder)
    assert time.monotonic() - started >= 1.0 and report.rebuilt
    assert holder.wait(10) == 0


def test_cli_says_clearly_that_a_build_is_running(small_settings, monkeypatch, capsys):
    from bot import cli

    holder = hold_lock(small_settings.index_dir, 30)
    try:
        monkeypatch.setattr(cli, "_settings", lambda: small_settings.model_copy(update={"index_lock_timeout": 0.2}))
        monkeypatch.setattr(sys, "argv", ["studybot", "index", "build"])
        with pytest.raises(SystemExit) as exit_info:
            cli.main()
    finally:
        holder.kill()
        holder.wait()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"An index build is already running in '{small_settings.index_dir}' (process {holder.pid})" in err
    assert "Traceback" not in err


def test_busy_names_the_folder_when_the_lock_is_held_in_this_process_too(tmp_path):
    with FolderLock(tmp_path, timeout=0):
        with pytest.raises(Busy, match=str(tmp_path)):
            with FolderLock(tmp_path, timeout=0):
                pass  # pragma: no cover
