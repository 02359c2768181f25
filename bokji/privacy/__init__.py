"""Personal data protection: resident registration numbers are normalized, validated, encrypted at
rest, hashed for look-ups and masked for screens in `bokji.privacy.protection` and nowhere else."""
