"""flowstack-engine's RPC API (oslo.messaging, topic ``flowstack-engine``).

- :mod:`flowstack.rpc.client`: :class:`~flowstack.rpc.client.EngineClient`, the
  class other services import; it imports no engine or flow code.
- :mod:`flowstack.rpc.manager`: :class:`~flowstack.rpc.manager.EngineManager`,
  the server-side endpoint: checks each payload, then calls the engine's part
  that serves it (:class:`flowstack.engine.Engine`).
- :mod:`flowstack.rpc.local`: the same client and manager in one process (the
  embedded default), so a call is written in two places, never forwarded.
- :mod:`flowstack.rpc.payload`: the payload checks (field, type, size).
- :mod:`flowstack.rpc.serializer`: the request context on the wire.

Both sides carry the same ``RPC_API_VERSION`` and version history; a unit
test holds them together.
"""

#: Where flowstack-engine listens unless ``[rpc] exchange`` and ``[rpc] topic`` say otherwise.
EXCHANGE = "flowstack"
TOPIC = "flowstack-engine"
