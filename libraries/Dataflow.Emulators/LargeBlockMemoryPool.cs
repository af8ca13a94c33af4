using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Dataflow.Emulators;

/// <summary>
/// Transport buffers for the stand-ins: pinned blocks of 64 KiB instead of Kestrel's 4 KiB. The socket transport
/// receives into one pool block per system call, so a 64 MB upload took 16,384 receive calls and as many pipe
/// hand-offs; with 64 KiB blocks it takes 1,024. Registered as the host's <see cref="IMemoryPoolFactory{T}"/>.
/// </summary>
internal sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool();
}

/// <summary>A pool of fixed-size pinned blocks; it keeps at most <see cref="MaxRetainedBlocks"/> idle ones.</summary>
internal sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 << 10;

    /// <summary>16 MiB of idle blocks at most: enough for several 64 MB bodies in flight, returned to the GC beyond that.</summary>
    public const int MaxRetainedBlocks = 256;

    private readonly ConcurrentQueue<Block> _idle = new();
    private int _idleCount;
    private bool _disposed;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (_idle.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _idleCount);
            return block;
        }

        return new Block(this);
    }

    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        _idle.Clear();
    }

    private void Return(Block block)
    {
        if (_disposed || Interlocked.Increment(ref _idleCount) > MaxRetainedBlocks)
        {
            Interlocked.Decrement(ref _idleCount);
            return;
        }

        _idle.Enqueue(block);
    }

    /// <summary>The block is its own owner, so renting a pooled block allocates nothing.</summary>
    private sealed class Block(LargeBlockMemoryPool pool) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public void Dispose() => pool.Return(this);
    }
}
