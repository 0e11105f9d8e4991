#!/usr/bin/env node
// The Cosmos DB peer for the tests (tests/peers.py: peers.cosmos()): @vercel/cosmosdb-server over
// HTTPS (its self-signed certificate) with keep-alive connections.
//
//   node cosmos-server.js <host> <port>
//
// Two differences from the package's own CLI, both to behave like Cosmos DB to the real SDK:
// - keep-alive: the CLI answers every request with `Connection: close`, so each SDK call pays a TLS
//   handshake (p50 ~57 ms); kept-alive connections bring a point read to a few ms.
// - a point read of a missing document in a partitioned container answers 404 NotFound, as Cosmos
//   does. The package's read-document handler dereferences the missing document before its own 404
//   (a TypeError, answered 500), so the handler is wrapped before the routes bind it.
"use strict";
const readDocument = require("@vercel/cosmosdb-server/lib/handler/read-document");
const partitions = require("@vercel/cosmosdb-server/lib/utils/get-partition-from-header");

const original = readDocument.default;
readDocument.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  const partition = partitions.parsePartitionKey(partitions.default(req), params.docId);
  if (collection.read() && !collection.document(params.docId, partition).read()) {
    res.statusCode = 404;
    return { code: "NotFound", message: "Entity with the specified id does not exist in the system.," };
  }
  return original(account, req, res, params);
};

const { createHttpsServer } = require("@vercel/cosmosdb-server");

const [host = "127.0.0.1", port = "8081"] = process.argv.slice(2);
const server = createHttpsServer({ keepAlive: true });
server.keepAliveTimeout = 60000;
server.listen(parseInt(port, 10), host, () => {
  console.log(`cosmosdb-server ready at https://${host}:${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
