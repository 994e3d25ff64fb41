// The peer for the HTTP bench: a bare Fastify route, nothing else. Prints its port.
const fastify = require('fastify')({ logger: false });

fastify.post('/hello', async () => ({ hello: 'world' }));
fastify.get('/hello', async () => ({ hello: 'world' }));
fastify.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' }).then(() => {
  process.stdout.write(`${fastify.server.address().port}\n`);
});
process.on('SIGTERM', () => fastify.close().then(() => process.exit(0)));
