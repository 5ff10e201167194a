"""Threshold ECDSA: the GG20 message flow hardened with CGGMP21's zero-knowledge proofs.

References: Canetti, Gennaro, Goldfeder, Makriyannis, Peled, "UC Non-Interactive,
Proactive, Threshold ECDSA with Identifiable Aborts" (CGGMP21, ePrint 2021/060), and
Gennaro–Goldfeder, "One Round Threshold ECDSA with Identifiable Abort" (GG20, ePrint
2020/540). Big-integer arithmetic runs on gmpy2; curve arithmetic on libsecp256k1.
"""
