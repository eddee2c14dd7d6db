from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommsConfig(AppConfig):
    name = "mahnwerk.comms"
    label = "comms"
    verbose_name = _("Communication")

    def ready(self) -> None:
        from mahnwerk.collection.ports import register_messaging
        from mahnwerk.comms import signals  # noqa: F401  (connects the receivers)
        from mahnwerk.comms.messaging import CommsMessaging

        # the collection app asks the messages through its port; it never imports comms
        register_messaging(CommsMessaging())
