"""Kept so that ``import edge.sync.client`` goes on working: the module is :mod:`edge.mqtt_link`, the
gateway's one MQTT 5 link, which the sync, the peers of several gateways, ``edge doctor`` and the fleet
side all use (a module of the I/O floor, so services that use it do not import each other).

The old name is the same module object, so attributes set through it (tests monkeypatch them) reach it.
"""

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge.mqtt_link import Link as Link
    from edge.mqtt_link import LinkError as LinkError
    from edge.mqtt_link import LinkSettings as LinkSettings
else:
    import edge.mqtt_link as _module

    sys.modules[__name__] = _module
