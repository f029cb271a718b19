"""How a member's choices become a request: the catalogue's checks plus the server's own output format."""

import time

from bot.core.cache import GuildCache
from bot.core.errors import InvalidSettingError
from bot.core.images.catalogue import OUTPUT_FORMATS, ImageOptions, ImageRequest, ModelCatalogue, OutputSettings
from storage.image_settings import ImageSettingsRepository, OutputRow


class ImageSettingsService:
    """Resolves requests against the offered models and the server's settings, which admins change here."""

    def __init__(self, catalogue: ModelCatalogue, repository: ImageSettingsRepository) -> None:
        self.catalogue = catalogue
        self._repository = repository
        # Read for every job, changed only through this service: cached per guild.
        self._outputs = GuildCache(self._load_output)

    async def plan(self, guild_id: int, prompt: str, request: ImageRequest, *, inputs: int = 0) -> ImageOptions:
        """The options to send for ``request`` (with ``inputs`` pictures to remix) in this server; raises
        ``UnsupportedOptionError`` (or ``CannotEditError``) saying why not."""
        return self.catalogue.resolve(prompt, request, await self._outputs.get(guild_id), inputs=inputs)

    async def output(self, guild_id: int) -> OutputSettings:
        """The server's output format (PNG at full quality until its admins choose)."""
        return await self._outputs.get(guild_id)

    async def set_output(self, guild_id: int, file_format: str, compression: int | None, *, actor_id: int) -> None:
        """Change the server's output format, recorded in its audit trail."""
        if file_format not in OUTPUT_FORMATS:
            raise InvalidSettingError(f"the format must be one of {', '.join(OUTPUT_FORMATS)}")
        if compression is not None and file_format == "png":
            raise InvalidSettingError("compression applies to webp and jpeg only")
        row = OutputRow(file_format, compression)
        try:
            await self._repository.set_output(guild_id, row, actor_id=actor_id, now=int(time.time()))
        finally:
            self._outputs.changed(guild_id)

    async def _load_output(self, guild_id: int) -> OutputSettings:
        row = await self._repository.output(guild_id)
        return OutputSettings(row.output_format, row.output_compression) if row else OutputSettings()
