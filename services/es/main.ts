// `npm run es`: the Elasticsearch stand-in alone (ES_PORT, default 9200; ES_HOST, default 127.0.0.1).
import { envInt, envString, runService } from '../common/config.js';
import { startEs } from './server.js';

await runService(async () => {
  const es = await startEs({
    port: envInt('ES_PORT', 9200, { min: 0, max: 65535 }),
    host: envString('ES_HOST', '127.0.0.1'),
  });
  console.log(`Elasticsearch stand-in listening on ${es.url}`);
  return es;
});
