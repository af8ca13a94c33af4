Console.WriteLine("Dataflow AppHost");
