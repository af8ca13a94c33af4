using Dataflow.Emulators;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace Dataflow.Tests.Unit.Emulators;

[Trait("Category", "Unit")]
public sealed class LargeBlockMemoryPoolTests
{
    [Fact]
    public void Every_rent_gets_a_whole_64_KiB_block_whatever_the_size_asked()
    {
        using var pool = new LargeBlockMemoryPool();

        using var small = pool.Rent(1);
        using var any = pool.Rent();
        using var full = pool.Rent(LargeBlockMemoryPool.BlockSize);

        Assert.Equal(64 * 1024, pool.MaxBufferSize);
        Assert.All(new[] { small, any, full }, owner => Assert.Equal(LargeBlockMemoryPool.BlockSize, owner.Memory.Length));
    }

    [Fact]
    public void A_rent_larger_than_a_block_is_refused_so_the_pipe_allocates_it_itself()
    {
        using var pool = new LargeBlockMemoryPool();

        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(LargeBlockMemoryPool.BlockSize + 1));
    }

    [Fact]
    public void A_returned_block_is_handed_out_again()
    {
        using var pool = new LargeBlockMemoryPool();
        var first = pool.Rent();
        var memory = first.Memory;
        first.Dispose();

        using var second = pool.Rent();

        Assert.True(second.Memory.Span == memory.Span, "the pool should reuse the returned block");
    }

    [Fact]
    public void Idle_blocks_beyond_the_retention_limit_go_back_to_the_garbage_collector()
    {
        using var pool = new LargeBlockMemoryPool();
        var owners = Enumerable.Range(0, LargeBlockMemoryPool.MaxRetainedBlocks + 10).Select(_ => pool.Rent()).ToList();
        var kept = owners.Select(o => o.Memory).ToList();
        owners.ForEach(o => o.Dispose());

        var reused = Enumerable.Range(0, LargeBlockMemoryPool.MaxRetainedBlocks + 10).Select(_ => pool.Rent()).ToList();

        var reusedCount = reused.Count(r => kept.Any(k => k.Span == r.Memory.Span));
        Assert.Equal(LargeBlockMemoryPool.MaxRetainedBlocks, reusedCount);
    }

    [Fact]
    public void A_disposed_pool_refuses_rents()
    {
        var pool = new LargeBlockMemoryPool();
        pool.Dispose();

        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
    }

    [Fact]
    public void The_stand_ins_register_the_large_block_pool_for_the_transport()
    {
        var builder = WebApplication.CreateBuilder();
        builder.AddGoogleEmulators();
        using var app = builder.Build();

        Assert.IsType<LargeBlockMemoryPoolFactory>(app.Services.GetRequiredService<IMemoryPoolFactory<byte>>());
    }
}
