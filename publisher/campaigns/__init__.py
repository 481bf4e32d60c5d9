"""Campaigns: drafts, digests, checks, launching and scheduling, progress, previews and proofs."""
