"""Chunking, embedding, the FAISS index, search and answers. No discord import."""
