using Dataflow.AppHost;
using Dataflow.Hosting;

var builder = DistributedApplication.CreateBuilder(args);

// Infrastructure: each runs from the local installation in a private data directory on a free port.
var postgres = builder.AddPostgres("postgres");
var accountsDb = postgres.AddDatabase("accountsdb", databaseName: "accounts");
var mariadb = builder.AddMySql("mariadb");
var dataflowDb = mariadb.AddDatabase("dataflowdb", databaseName: "dataflow");
var redis = builder.AddRedis("redis");
var mqtt = builder.AddMosquitto("mqtt");
var pubsub = builder.AddPubSubEmulator("pubsub");
var firestore = builder.AddFirestoreEmulator("firestore");
var gcpStandIns = builder.AddProject<Projects.Dataflow_Emulators>("gcp-standins");
var storage = builder.AddCloudStorage("storage", gcpStandIns);
var bigquery = builder.AddBigQuery("bigquery", gcpStandIns);

var accounts = builder.AddAccounts(postgres, accountsDb);

builder.AddDataflowServices(new DataflowInfrastructure(accounts, accountsDb, dataflowDb, redis, mqtt, pubsub, firestore, storage, bigquery));

builder.Build().Run();
