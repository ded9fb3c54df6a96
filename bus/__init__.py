"""How messages travel: the `Transport` protocol and its two implementations,
RabbitMQ (`bus.rabbitmq`, the only aio-pika user) and in-process
(`bus.inprocess`, for `birthlink up` with no broker). Same names, same rules."""
