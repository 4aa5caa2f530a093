"""The pure core: the formats and proofs that run with no Django and no database.

Sealing and signing (``crypto``), signed notes and checkpoints (``signed_note``), Merkle trees
and their proofs (``merkle``), statement leaves (``leaves``), the batch an authority downloads
(``batch``), key and count certificates, and the auditor that checks a platform from outside.
The platform imports these; so do the authorities' offline toolkit and anyone's audit, on a
laptop that has never seen the platform's code run.
"""
