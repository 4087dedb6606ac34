"""The reporter Lambda: the weekly email that tells the CV owner what recruiters asked and how the bot did."""
