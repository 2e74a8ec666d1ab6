def cents_to_text(cents):
    return f"${cents // 100}.{cents % 100:02d}"
