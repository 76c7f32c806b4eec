"""The app's Teams tabs: "My cases" (a personal tab) and the board's figures (a channel tab).

They only show: every action stays on the cards in the chat with the bot, through the core.
"""
