"""The on-disk index: a FAISS index of chunk vectors, the chunk metadata beside it, and a manifest.

Layout under the index folder (generated, never hand-edited):

    CURRENT                      name of the live build folder (replaced atomically)
    .build.lock                  held by the one process building (see durable.FolderLock)
    builds/<stamp>/manifest.json model, dimension, corpus hash, format version, build time, file checksums
    builds/<stamp>/faiss.index   vectors under integer chunk ids (FAISS holds ids only)
    builds/<stamp>/chunks.jsonl  the chunk texts and their notes, line i = chunk id i
    builds/<stamp>/notes.json    the notes the index was built from (served if the corpus later breaks)
    cache/<model>.vectors.npy    self-verifying embedding cache keyed by sha256(chunk text), per model

A build holds the lock, writes a new folder under a temporary name, fsyncs it and renames it into place,
saves the cache the same way, then swaps CURRENT with one atomic rename: a crash at any point leaves the
previous build live and loadable, and the next build sweeps what the crash left.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import faiss
import numpy as np

from bot.errors import IndexCorrupted, IndexMismatch, IndexUnavailable
from bot.knowledge.corpus import Corpus, corpus_from_json, corpus_to_json
from bot.retrieval.chunking import Chunk, chunk_note
from bot.retrieval.durable import FolderLock, ensure_dir, fsync_dir, publish, staged, sweep_temporary, write_atomic
from bot.retrieval.embedding import Embedder
from bot.retrieval.embedding_cache import EmbeddingCache

log = logging.getLogger("studybot.index")

FORMAT_VERSION = 2
# Approximate index (at or above `ann_threshold` vectors): IVF with full vectors (IndexIVFFlat). It builds in
# minutes at 1M vectors on 2 cores, where HNSW took far longer (see docs/BENCHMARKS.md).
IVF_LISTS_PER_SQRT_N = 4  # nlist = 4 * sqrt(n)
IVF_TRAIN_POINTS_PER_LIST = 32  # k-means sample size per list (capped at n)
IVF_KMEANS_ITERATIONS = 10
IVF_TARGET_RECALL = 0.97  # nprobe is the smallest that reaches this recall@10 on calibration queries
IVF_RECALL_K = 10
IVF_CALIBRATION_QUERIES = 256
# Calibration queries are sampled vectors plus Gaussian noise of this norm (cosine ~0.7 to their source): real
# questions sit further from the chunks than chunks sit from each other (dev set: top-1 cosine 0.58 vs 0.71).
IVF_CALIBRATION_NOISE = 1.0
IVF_NPROBE_STEPS = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
IVF_SEED = 1234


@dataclass
class Manifest:
    """What an index was built from; loading refuses an index whose manifest does not fit."""

    format_version: int
    model: str
    dimension: int
    corpus_hash: str
    chunk_count: int
    note_hashes: dict[str, str]
    built_at: str
    index_type: str
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    # The model the vectors (and so the queries) must come from: model, variant and, for the ONNX variant,
    # the sha256 of its artifact (see onnx_model.py). Loading refuses another one.
    embedding: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict) -> "Manifest":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class BuildReport:
    """What a build changed, note by note, and what it cost."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    embedded: int
    reused: int
    seconds: float
    rebuilt: bool = True  # False when the index was already up to date
    cache_problem: str | None = None  # why cached vectors were discarded (they were embedded again)

    @property
    def summary(self) -> str:
        if not self.rebuilt:
            return "index already up to date; nothing written"
        text = (f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed; "
                f"{self.embedded} chunk(s) embedded, {self.reused} reused, {self.seconds:.2f}s")
        return f"{text}\nwarning: {self.cache_problem}; their texts were embedded again" if self.cache_problem else text


@dataclass
class LoadedIndex:
    """A live index: FAISS, the chunks (position = chunk id) and the manifest."""

    manifest: Manifest
    faiss_index: faiss.Index
    chunks: list[Chunk]
    path: Path

    def corpus_snapshot(self) -> Corpus:
        """The corpus this index was built from (to keep serving when the files on disk are broken)."""
        try:
            data = json.loads((self.path / "notes.json").read_text())
            return corpus_from_json(data, self.path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupted(f"The notes snapshot in '{self.path}' is unreadable. Rebuild with: studybot index build") from exc


def _ivf_lists(n: int) -> int:
    """nlist for n vectors: about 4*sqrt(n), and never more lists than a few vectors per list allows."""
    return max(1, min(int(round(IVF_LISTS_PER_SQRT_N * np.sqrt(n))), n // 8))


def _calibrate_nprobe(index: faiss.Index, ivf: faiss.IndexIVF, vectors: np.ndarray, ids: np.ndarray) -> tuple[int, float]:
    """Set `ivf.nprobe` to the smallest step whose recall@10 against exact search reaches IVF_TARGET_RECALL.

    `index` wraps `ivf` and holds `vectors` under `ids`. Queries: a seeded sample of the indexed vectors, each
    moved off its source by IVF_CALIBRATION_NOISE and renormalised; the source is left out of both result lists
    (it is not a neighbour a real question would have). Returns (nprobe, recall at that nprobe).
    """
    n, dim = vectors.shape
    k = min(IVF_RECALL_K, n - 1)
    if k <= 0:
        ivf.nprobe = ivf.nlist
        return ivf.nprobe, 1.0
    rng = np.random.default_rng(IVF_SEED)
    sample = np.sort(rng.choice(n, min(IVF_CALIBRATION_QUERIES, n), replace=False))
    noise = rng.standard_normal((len(sample), dim)).astype(np.float32) * (IVF_CALIBRATION_NOISE / np.sqrt(dim))
    queries = vectors[sample] + noise
    queries = np.ascontiguousarray(queries / np.linalg.norm(queries, axis=1, keepdims=True), dtype=np.float32)
    _, exact = faiss.knn(queries, vectors, k + 1, metric=faiss.METRIC_INNER_PRODUCT)
    own = ids[sample]
    truth = [set(ids[row[row != q]][:k].tolist()) for q, row in zip(sample, exact)]
    recall = 1.0
    for nprobe in [p for p in IVF_NPROBE_STEPS if p < ivf.nlist] + [ivf.nlist]:
        ivf.nprobe = nprobe
        _, got = index.search(queries, k + 1)
        recall = float(np.mean([len(t & set(row[row != o][:k].tolist())) / k for o, row, t in zip(own, got, truth)]))
        if recall >= IVF_TARGET_RECALL:
            break
    return ivf.nprobe, recall

def make_faiss_index(vectors: np.ndarray, ids: np.ndarray, ann_threshold: int) -> tuple[faiss.Index, str]:
    """Exact inner-product search below `ann_threshold` vectors, IVF (approximate) at or above it.

    The IVF index has nlist ~ 4*sqrt(n) lists, trained by k-means on a seeded sample, and its nprobe is
    calibrated at build time to reach IVF_TARGET_RECALL recall@10; nprobe is saved with the index, so a
    loaded index searches the same way. Both hold the given ids (the flat index in an IndexIDMap2, the IVF
    index in its lists) and reconstruct(id) works on both.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    n, dim = vectors.shape
    if not (n and n >= ann_threshold):
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if n:
            index.add_with_ids(vectors, ids)
        return index, "FlatIP"
    nlist = _ivf_lists(n)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.niter = IVF_KMEANS_ITERATIONS
    ivf.cp.seed = IVF_SEED
    ivf.cp.min_points_per_centroid = 1  # the training sample is sized on purpose: no faiss warning
    n_train = min(n, IVF_TRAIN_POINTS_PER_LIST * nlist)
    rng = np.random.default_rng(IVF_SEED)
    ivf.train(vectors if n_train == n else vectors[np.sort(rng.choice(n, n_train, replace=False))])
    # The IVF lists store the ids themselves: no IndexIDMap2 wrapper, whose id translation opens an OpenMP
    # parallel region on every search (milliseconds per single query on a busy 2-core machine).
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # so reconstruct(id) works as on the flat index
    ivf.add_with_ids(vectors, ids)
    nprobe, _ = _calibrate_nprobe(ivf, ivf, vectors, ids)
    return ivf, f"IVFFlat(nlist={nlist},nprobe={nprobe})"


def _describe(embedding: dict) -> str:
    if not embedding:
        return "an unrecorded model variant"
    digest = f" ({embedding['sha256'][:12]})" if embedding.get("sha256") else ""
    return f"'{embedding.get('model')}' {embedding.get('variant')}{digest}"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class _Payload:
    """What a build of this corpus writes besides the vectors, serialised once: compared to decide freshness."""

    chunks: list[Chunk]
    chunks_jsonl: bytes
    notes_json: bytes

    @classmethod
    def of(cls, corpus: Corpus) -> "_Payload":
        chunks = [c for note in corpus.notes.values() for c in chunk_note(note)]
        return cls(chunks, "".join(json.dumps(c.to_json()) + "\n" for c in chunks).encode("utf-8"),
                   json.dumps(corpus_to_json(corpus)).encode("utf-8"))

    @property
    def checksums(self) -> dict[str, str]:
        return {"chunks.jsonl": hashlib.sha256(self.chunks_jsonl).hexdigest(),
                "notes.json": hashlib.sha256(self.notes_json).hexdigest()}


class IndexStore:
    """Builds, swaps and loads the index under one folder."""

    def __init__(self, root: Path, ann_threshold: int = 50_000, lock_timeout: float = 600.0):
        self.root = Path(root)
        self.ann_threshold = ann_threshold
        self.lock_timeout = lock_timeout

    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT"

    def current_dir(self) -> Path | None:
        try:
            name = self.current_file.read_text().strip()
        except OSError:
            return None
        path = self.root / "builds" / name
        return path if name and path.is_dir() else None

    def exists(self) -> bool:
        return self.current_dir() is not None

    def read_manifest(self) -> Manifest | None:
        """The live manifest, unverified (None when there is no readable one)."""
        folder = self.current_dir()
        if folder is None:
            return None
        try:
            return Manifest.from_json(json.loads((folder / "manifest.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def load(self, model: str, dimension: int | None = None, embedding: dict | None = None) -> LoadedIndex:
        """Load the live index, refusing one built for another model or format, or damaged."""
        folder = self.current_dir()
        if folder is None:
            raise IndexUnavailable(f"No index has been built yet in '{self.root}'. Run: studybot index build")
        try:
            manifest = Manifest.from_json(json.loads((folder / "manifest.json").read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise IndexCorrupted(f"The index manifest in '{folder}' is unreadable ({exc}). Rebuild with: studybot index build") from exc
        if manifest.format_version != FORMAT_VERSION:
            raise IndexMismatch(f"The index was built in format {manifest.format_version}; this studybot reads "
                                f"format {FORMAT_VERSION}. Rebuild with: studybot index build")
        if manifest.model != model:
            raise IndexMismatch(f"The index was built with the model '{manifest.model}', but the configured model "
                                f"is '{model}'. Rebuild with: studybot index build")
        if embedding is not None and manifest.embedding != embedding:
            raise IndexMismatch(f"The index was embedded with {_describe(manifest.embedding)}, but queries would be "
                                f"embedded with {_describe(embedding)}. Rebuild with: studybot index build")
        if dimension is not None and manifest.dimension != dimension:
            raise IndexMismatch(f"The index holds {manifest.dimension}-dimensional vectors; the model makes "
                                f"{dimension}. Rebuild with: studybot index build")
        for name, digest in manifest.files.items():
            path = folder / name
            if not path.is_file() or _sha256_file(path) != digest:
                raise IndexCorrupted(f"The index file '{path}' is missing or damaged. Rebuild with: studybot index build")
        try:
            index = faiss.read_index(str(folder / "faiss.index"))
            chunks = [Chunk(**json.loads(line)) for line in (folder / "chunks.jsonl").read_text().splitlines()]
        except Exception as exc:  # noqa: BLE001 - FAISS raises RuntimeError subclasses for bad files
            raise IndexCorrupted(f"The index in '{folder}' could not be read ({exc}). Rebuild with: studybot index build") from exc
        if index.ntotal != len(chunks) or len(chunks) != manifest.chunk_count or index.d != manifest.dimension:
            raise IndexCorrupted(f"The index in '{folder}' disagrees with its manifest. Rebuild with: studybot index build")
        return LoadedIndex(manifest=manifest, faiss_index=index, chunks=chunks, path=folder)

    @staticmethod
    def _matches(manifest: Manifest | None, corpus: Corpus, payload: _Payload, model: str,
                 embedding: dict | None = None) -> bool:
        return bool(manifest and manifest.format_version == FORMAT_VERSION and manifest.model == model
                    and manifest.corpus_hash == corpus.content_hash
                    and (embedding is None or manifest.embedding == embedding)
                    and all(manifest.files.get(name) == digest for name, digest in payload.checksums.items()))

    def is_fresh(self, corpus: Corpus, model: str, embedding: dict | None = None) -> bool:
        """True when the live build holds exactly what a build of this corpus with this model would write."""
        return self._matches(self.read_manifest(), corpus, _Payload.of(corpus), model, embedding)

    def build(self, corpus: Corpus, embedder: Embedder, progress: bool = False) -> tuple[LoadedIndex, BuildReport]:
        """Build (incrementally: only chunks whose text changed are embedded) and swap in a new index.

        The whole build holds the folder's lock, so a second builder waits instead of interleaving. When the
        live build already holds exactly this corpus, nothing is written and the live index is returned.
        """
        started = time.perf_counter()
        with FolderLock(self.root, self.lock_timeout):
            self._sweep_temporary()
            payload = _Payload.of(corpus)
            previous = self.read_manifest()
            if self._matches(previous, corpus, payload, embedder.name, embedder.identity):
                try:
                    loaded = self.load(embedder.name, embedding=embedder.identity)
                except IndexUnavailable:
                    pass  # damaged: build a new one below
                else:
                    return loaded, BuildReport([], [], [], embedded=0, reused=0,
                                               seconds=time.perf_counter() - started, rebuilt=False)
            return self._build_locked(corpus, payload, previous, embedder, progress, started)

    def _build_locked(self, corpus: Corpus, payload: _Payload, previous: Manifest | None, embedder: Embedder,
                      progress: bool, started: float) -> tuple[LoadedIndex, BuildReport]:
        old_hashes = previous.note_hashes if previous and previous.model == embedder.name else {}
        new_hashes = {nid: n.content_hash for nid, n in corpus.notes.items()}
        added = sorted(set(new_hashes) - set(old_hashes))
        removed = sorted(set(old_hashes) - set(new_hashes))
        changed = sorted(n for n in set(new_hashes) & set(old_hashes) if new_hashes[n] != old_hashes[n])

        chunks = payload.chunks
        cache = EmbeddingCache(self.root / "cache", getattr(embedder, "cache_name", embedder.name))
        found = cache.load()
        cached = found.entries
        missing_keys = list(dict.fromkeys(c.key for c in chunks if c.key not in cached))
        if missing_keys or not cached:
            dim = embedder.dimension  # loads the model; a build served wholly from the cache never needs it
            wrong = [k for k, v in cached.items() if v.shape != (dim,)]
            if wrong:
                found.unreadable = found.unreadable or f"vectors of another dimension than the model's {dim}"
                log.warning("%s: %s", cache.path, found.problem)
                cached = {}
                missing_keys = list(dict.fromkeys(c.key for c in chunks))
        else:
            dim = next(iter(cached.values())).shape[0]
        by_key = {c.key: c for c in chunks}
        if missing_keys:
            fresh = embedder.encode([by_key[k].embed_text for k in missing_keys], show_progress=progress)
            cached.update(zip(missing_keys, fresh))
        vectors = np.stack([cached[c.key] for c in chunks]).astype(np.float32) if chunks else np.zeros((0, dim), np.float32)
        index, kind = make_faiss_index(vectors, np.arange(len(chunks)), self.ann_threshold)

        builds = self.root / "builds"
        ensure_dir(builds)
        live_before = self.current_dir()
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        final = builds / f"{stamp}-{corpus.content_hash[:8]}"
        with staged(final) as tmp:
            tmp.mkdir()
            faiss.write_index(index, str(tmp / "faiss.index"))
            (tmp / "chunks.jsonl").write_bytes(payload.chunks_jsonl)
            (tmp / "notes.json").write_bytes(payload.notes_json)
            manifest = self._manifest(corpus, embedder, dim, len(chunks), new_hashes, kind,
                                      {"faiss.index": _sha256_file(tmp / "faiss.index"), **payload.checksums})
            (tmp / "manifest.json").write_text(json.dumps(asdict(manifest), indent=1))
            publish(tmp, final)
        # The cache before the swap (kept to what the corpus uses now, so deleted notes leave no vectors
        # behind): once a build is live, its vectors are in the cache.
        cache.save({c.key: cached[c.key] for c in chunks}, dim)
        write_atomic(self.current_file, final.name.encode())  # the swap: one atomic rename
        self._sweep_old(keep={final, live_before})
        report = BuildReport(added, changed, removed, embedded=len(missing_keys),
                             reused=len(set(by_key)) - len(missing_keys), seconds=time.perf_counter() - started,
                             cache_problem=found.problem)
        return LoadedIndex(manifest=manifest, faiss_index=index, chunks=chunks, path=final), report

    @staticmethod
    def _manifest(corpus: Corpus, embedder: Embedder, dim: int, count: int, note_hashes: dict[str, str], kind: str,
                  files: dict[str, str]) -> Manifest:
        return Manifest(format_version=FORMAT_VERSION, model=embedder.name, dimension=dim,
                        corpus_hash=corpus.content_hash, chunk_count=count, note_hashes=note_hashes,
                        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), index_type=kind,
                        files=files, embedding=embedder.identity)

    def _sweep_temporary(self) -> None:
        """Remove what crashed writers left: half-written builds and ONNX exports, CURRENT's and the caches' files.

        Only called under the folder's lock, so no live builder is writing any of them.
        """
        for folder in (self.root, self.root / "builds", self.root / "cache", self.root / "onnx"):
            sweep_temporary(folder)

    def _sweep_old(self, keep: set[Path | None]) -> None:
        """Delete old builds; the one live until now is kept a while for readers still loading it."""
        builds = self.root / "builds"
        for folder in builds.iterdir():
            if folder not in keep and not folder.name.startswith("."):
                shutil.rmtree(folder, ignore_errors=True)
        fsync_dir(builds)
