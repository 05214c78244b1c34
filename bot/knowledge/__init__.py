"""Corpus notes: parsing, validation and the prerequisite graph. No discord import."""

from bot.knowledge.corpus import Corpus, load_corpus
from bot.knowledge.graph import PrerequisiteGraph
from bot.knowledge.notes import DISCIPLINES, LEVELS, Note, QuizItem, Section

__all__ = [
    "Corpus",
    "DISCIPLINES",
    "LEVELS",
    "Note",
    "PrerequisiteGraph",
    "QuizItem",
    "Section",
    "load_corpus",
]
