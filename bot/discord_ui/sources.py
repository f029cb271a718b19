"""Where a remix's pictures come from in Discord: attachments it resolved for this interaction, and a message's
pictures (its attachments, else its embeds' images as Discord's media proxy serves them)."""

import discord

from bot.core.images.inputs import InputSource


def attachment_source(attachment: discord.Attachment) -> InputSource:
    """An attachment Discord resolved for this interaction (an option, or a message's file)."""
    return InputSource(attachment.url, attachment.size, attachment.filename)


def is_picture(attachment: discord.Attachment) -> bool:
    """Whether Discord took the attachment for a picture (it gives pictures a size and an image content type)."""
    return attachment.width is not None or (attachment.content_type or "").startswith("image/")


def message_source(message: discord.Message) -> InputSource | None:
    """The picture a message shows first: its first picture attachment, else its first embed's image (by its
    Discord-proxied address: the original may be anywhere); ``None`` if it shows none."""
    for attachment in message.attachments:
        if is_picture(attachment):
            return attachment_source(attachment)
    for embed in message.embeds:
        for image in (embed.image, embed.thumbnail):
            if image.proxy_url:
                return InputSource(image.proxy_url, None, (image.url or "").rsplit("/", 1)[-1] or "embed picture")
    return None
