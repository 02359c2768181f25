"""The offices' calendar: which days are business days (public, substitute and temporary holidays of South
Korea, plus closures an administrator enters), and deadlines counted in days or business days."""
