"""The embedding cache: vectors already computed for one model, keyed by sha256 of the embedded text.

One file per model, `cache/<model key>.vectors.npy`: a NumPy structured array with one record per entry
holding the key (32 raw bytes), the vector, and a checksum of (model, key, vector). The file is written
whole under a temporary name and published with an atomic rename, so a crash leaves the previous file or
the new one, never keys paired with another build's vectors. On load every record is checked against its
key: a record that fails (flipped bits, a hand edit, a file copied from another model) is dropped and its
text re-embedded, with a warning. A vector that does not belong to its text is never served.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.retrieval.durable import ensure_dir, publish, staged

log = logging.getLogger("studybot.index")

CHECKSUM_BYTES = 16
KEY_BYTES = 32  # sha256 digest of the embedded text
NORM_TOLERANCE = 1e-3  # vectors are stored L2-normalised


def model_key(model: str) -> str:
    """A file-safe name for a model, for the per-model embedding cache."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_")[-60:]
    return f"{slug}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"


def _record_type(dimension: int) -> np.dtype:
    # Raw uint8 arrays, not "S32": NumPy strips trailing NUL bytes from "S" fields, which would corrupt keys.
    return np.dtype([("key", np.uint8, (KEY_BYTES,)), ("checksum", np.uint8, (CHECKSUM_BYTES,)),
                     ("vector", "<f4", (dimension,))])


@dataclass
class CacheLoad:
    """The verified entries of a cache file, and what had to be thrown away."""

    entries: dict[str, np.ndarray] = field(default_factory=dict)
    rejected: int = 0  # records that failed verification
    unreadable: str | None = None  # why the whole file was discarded, if it was

    @property
    def problem(self) -> str | None:
        if self.unreadable:
            return f"the embedding cache was unreadable ({self.unreadable}) and was discarded"
        if self.rejected:
            return f"{self.rejected} cached vector(s) failed verification and were discarded"
        return None


class EmbeddingCache:
    """Verified vectors for one model (see the module docstring for the file layout)."""

    def __init__(self, folder: Path, model: str):
        self.folder = Path(folder)
        self.model = model
        self.path = self.folder / f"{model_key(model)}.vectors.npy"
        # Format 1 kept keys and vectors in two files that a crash could pair wrongly; never read, removed on save.
        self.legacy_paths = (self.folder / f"{model_key(model)}.npy", self.folder / f"{model_key(model)}.json")

    def checksum(self, key: bytes, vector: np.ndarray) -> bytes:
        """What ties a vector to its key (and to this model)."""
        h = hashlib.blake2b(digest_size=CHECKSUM_BYTES)
        h.update(self.model.encode("utf-8") + b"\0" + key)
        h.update(np.ascontiguousarray(vector, dtype="<f4").tobytes())
        return h.digest()

    def load(self, dimension: int | None = None) -> CacheLoad:
        """Every entry that verifies; `dimension`, when given, must match the stored vectors."""
        if not self.path.is_file():
            return CacheLoad()
        try:
            records = np.load(self.path, allow_pickle=False)
            names = records.dtype.names or ()
            if records.ndim != 1 or names != ("key", "checksum", "vector"):
                raise ValueError("not a studybot embedding cache")
            if records.dtype != _record_type(records.dtype["vector"].shape[0]):
                raise ValueError(f"unexpected record layout {records.dtype}")
        except (OSError, ValueError, EOFError, KeyError, IndexError) as exc:
            found = CacheLoad(unreadable=str(exc) or type(exc).__name__)
            log.warning("%s: %s", self.path, found.problem)
            return found
        stored_dim = records.dtype["vector"].shape[0]
        if dimension is not None and stored_dim != dimension:
            found = CacheLoad(unreadable=f"{stored_dim}-dimensional vectors, the model makes {dimension}")
            log.warning("%s: %s", self.path, found.problem)
            return found
        vectors = records["vector"]
        with np.errstate(all="ignore"):
            norms_ok = np.all(np.isfinite(vectors), axis=1) & (np.abs(np.linalg.norm(vectors, axis=1) - 1) <= NORM_TOLERANCE)
        found = CacheLoad()
        for record, norm_ok in zip(records, norms_ok):
            key = record["key"].tobytes()
            if norm_ok and record["checksum"].tobytes() == self.checksum(key, record["vector"]):
                found.entries[key.hex()] = np.array(record["vector"], dtype=np.float32)
            else:
                found.rejected += 1
        if found.rejected:
            log.warning("%s: %s; their texts will be embedded again", self.path, found.problem)
        return found

    def save(self, entries: dict[str, np.ndarray], dimension: int) -> None:
        """Replace the cache with exactly `entries` (key hex -> vector), atomically and durably."""
        records = np.zeros(len(entries), dtype=_record_type(dimension))
        for i, (key_hex, vector) in enumerate(entries.items()):
            key = bytes.fromhex(key_hex)
            vec = np.asarray(vector, dtype="<f4")
            records[i]["key"] = np.frombuffer(key, dtype=np.uint8)
            records[i]["vector"] = vec
            records[i]["checksum"] = np.frombuffer(self.checksum(key, vec), dtype=np.uint8)
        ensure_dir(self.folder)
        with staged(self.path) as tmp:
            with tmp.open("wb") as f:
                np.save(f, records, allow_pickle=False)
            publish(tmp, self.path)
        for legacy in self.legacy_paths:
            legacy.unlink(missing_ok=True)
