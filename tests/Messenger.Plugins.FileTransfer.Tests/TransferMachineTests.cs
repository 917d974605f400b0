using System.Security.Cryptography;
using Messenger.Plugins.FileTransfer.Protocol;

namespace Messenger.Plugins.FileTransfer.Tests;

/// <summary>
/// Frame sequences replayed against the two protocol machines, with no host, session or store: what each side does
/// with every chunk, end marker, accept, ack and verdict, including the orders a lossy or hostile peer produces.
/// </summary>
public class TransferMachineTests
{
    private const int ChunkSize = 4096;

    // Five chunks, the last one short.
    private static readonly byte[] File = RandomNumberGenerator.GetBytes((4 * ChunkSize) + 1000);

    private static readonly byte[] FileSha256 = SHA256.HashData(File);

    private static ReceivingMachine Receiver(byte[]? offeredSha256 = null, int maxGapRequests = 16, long offset = 0)
    {
        var machine = new ReceivingMachine(File.Length, ChunkSize, offeredSha256 ?? [], maxGapRequests);
        machine.Start(offset);
        return machine;
    }

    private static ReadOnlySpan<byte> Payload(long index) =>
        File.AsSpan((int)(index * ChunkSize), (int)Math.Min(ChunkSize, File.Length - (index * ChunkSize)));

    /// <summary>Replays chunk indices (each with its true payload and CRC) and returns what the machine decided for each.</summary>
    private static List<ChunkDecision> Replay(ReceivingMachine machine, params long[] indices) =>
        [.. indices.Select(i => machine.OnChunk(i, i >= 0 && i < 5 ? Payload(i) : new byte[10], i >= 0 && i < 5 ? Crc32CChecksum.Compute(Payload(i)) : 0))];

    [Fact]
    public void Receiving_InOrder_StoresEveryChunk_AndTheStreamedDigestAtTheEndGoesToTheWriter()
    {
        var machine = Receiver();
        Assert.All(Replay(machine, 0, 1, 2, 3, 4), d => Assert.Equal(ChunkDecision.Store, d));
        Assert.Equal(File.Length, machine.ReceivedBytes);

        var end = machine.OnEnd(File.Length, FileSha256);
        Assert.Equal(EndAction.Verify, end.Action);
        Assert.Equal(FileSha256, end.Sha256);
    }

    [Fact]
    public void Receiving_AGap_AsksForAResendFromTheMissingChunk_DropsWhatWasInFlight_AndTheRepeatsOfTheRestartedRun()
    {
        var machine = Receiver();
        var decisions = Replay(machine, 0, 2, 3, 4, 1, 2, 3, 4);
        Assert.Equal(
            [ChunkDecision.Store, ChunkDecision.ResendFrom(ChunkSize), ChunkDecision.Drop, ChunkDecision.Drop, ChunkDecision.Store, ChunkDecision.Store, ChunkDecision.Store, ChunkDecision.Store],
            decisions);

        // A restarted run may send again what this side holds: dropped, not "twice".
        Assert.Equal(ChunkDecision.Drop, Replay(machine, 3)[0]);
        Assert.Equal(EndAction.Verify, machine.OnEnd(File.Length, FileSha256).Action);
    }

    [Fact]
    public void Receiving_TheEndOfARunAResendRestarted_IsIgnored_TheRestartedRunEndsAgain()
    {
        var machine = Receiver();
        Replay(machine, 0, 2);
        Assert.Equal(EndDecision.Ignore, machine.OnEnd(File.Length, FileSha256));
        Replay(machine, 1, 2, 3, 4);
        Assert.Equal(EndAction.Verify, machine.OnEnd(File.Length, FileSha256).Action);
    }

    [Fact]
    public void Receiving_AGapBeyondTheRequestLimit_FailsTheTransfer()
    {
        var machine = Receiver(maxGapRequests: 1);
        var decisions = Replay(machine, 0, 2, 1, 3);
        Assert.Equal(ChunkAction.AskResend, decisions[1].Action);
        Assert.Equal(ChunkAction.Store, decisions[2].Action);
        Assert.Equal(ChunkAction.Fail, decisions[3].Action);
        Assert.Equal("chunk 2 never arrived (chunk 3 came instead): the link lost data", decisions[3].Reason);
    }

    [Fact]
    public void Receiving_CorruptShortDuplicateOrExtraChunks_FailWithTheirReason()
    {
        var corrupt = Receiver();
        Assert.Equal("chunk 0 is corrupt (CRC-32C mismatch)", corrupt.OnChunk(0, Payload(0), Crc32CChecksum.Compute(Payload(0)) ^ 1).Reason);

        var shortChunk = Receiver();
        Assert.Equal($"chunk 0 holds 100 bytes; {ChunkSize} were due", shortChunk.OnChunk(0, Payload(0)[..100], Crc32CChecksum.Compute(Payload(0)[..100])).Reason);

        var twice = Receiver();
        Assert.Equal("the sender sent chunk 0 twice", Replay(twice, 0, 0)[1].Reason);

        var extra = Receiver();
        Assert.Equal($"the sender sent chunk 5, outside 0..4 for {File.Length} bytes (more bytes than offered)", Replay(extra, 0, 1, 2, 3, 4, 5)[5].Reason);

        var negative = Receiver();
        Assert.Equal(ChunkAction.Fail, Replay(negative, -1)[0].Action);
    }

    [Fact]
    public void Receiving_EndMarkers_ThatDoNotProveTheWholeFile_Fail()
    {
        var early = Receiver();
        Replay(early, 0, 1);
        Assert.Equal($"the sender stopped after {2 * ChunkSize} of the {File.Length} bytes it offered", early.OnEnd(File.Length, FileSha256).Reason);

        EndDecision AfterAll(byte[]? offered, long bytesSent, byte[]? sha)
        {
            var machine = Receiver(offered);
            Replay(machine, 0, 1, 2, 3, 4);
            return machine.OnEnd(bytesSent, sha);
        }

        Assert.Equal(EndAction.Fail, AfterAll(null, File.Length - 1, FileSha256).Action);
        Assert.Equal("the sender's SHA-256 is not 32 bytes", AfterAll(null, File.Length, new byte[31]).Reason);
        Assert.Equal("the sender sent no SHA-256, neither in the offer nor at the end", AfterAll(null, File.Length, null).Reason);
        Assert.Contains("differs from the one it offered", AfterAll(FileSha256, File.Length, new byte[32]).Reason, StringComparison.Ordinal);

        // An offer that carried the digest needs none at the end (an older sender); the offered one is checked.
        Assert.Equal(FileSha256, AfterAll(FileSha256, File.Length, null).Sha256);
    }

    [Fact]
    public void Receiving_AResume_StartsAtTheLastWholeChunkTheStoreHolds()
    {
        Assert.Equal(2 * ChunkSize, ReceivingMachine.ResumeOffset((2 * ChunkSize) + 17, File.Length, ChunkSize));
        Assert.Equal(File.Length, ReceivingMachine.ResumeOffset(File.Length + 5, File.Length, ChunkSize));
        Assert.Equal(0, ReceivingMachine.ResumeOffset(ChunkSize - 1, File.Length, ChunkSize));

        var machine = Receiver(offset: 2 * ChunkSize);
        Assert.Equal([ChunkDecision.Store, ChunkDecision.Store, ChunkDecision.Store], Replay(machine, 2, 3, 4));
        Assert.Equal(EndAction.Verify, machine.OnEnd(File.Length, FileSha256).Action);

        Assert.Throws<ArgumentOutOfRangeException>(() => Receiver(offset: 17));
    }

    [Fact]
    public void Receiving_AnEmptyFile_EndsWithNoChunk()
    {
        var machine = new ReceivingMachine(0, ChunkSize, [], 16);
        machine.Start(0);
        var empty = SHA256.HashData(ReadOnlySpan<byte>.Empty);
        Assert.Equal(EndAction.Verify, machine.OnEnd(0, empty).Action);
        Assert.Equal(ChunkAction.Fail, machine.OnChunk(0, [1], Crc32CChecksum.Compute([1])).Action);
    }

    [Fact]
    public void Sending_AnAcceptAtAChunkBoundaryStartsARun_AnyOtherOffsetFails()
    {
        var machine = new SendingMachine(File.Length, ChunkSize);
        Assert.Null(machine.OnAccept(2 * ChunkSize));
        Assert.Equal(2 * ChunkSize, machine.RunOffset);
        Assert.Null(machine.OnAccept(File.Length));
        Assert.Equal(
            $"the receiver asked to resume from 100, which is not a chunk boundary of the {File.Length}-byte file",
            machine.OnAccept(100));
        Assert.NotNull(machine.OnAccept(-ChunkSize));
        Assert.NotNull(machine.OnAccept(File.Length + ChunkSize));
    }

    [Fact]
    public void Sending_AResumedRun_SendsOnlyWhenTheReceiversPrefixDigestIsTheFilesOwn()
    {
        var machine = new SendingMachine(File.Length, ChunkSize);
        machine.OnAccept(2 * ChunkSize);
        var own = SHA256.HashData(File.AsSpan(0, 2 * ChunkSize));
        Assert.Null(machine.OnPrefixHashed(own, own));
        Assert.Null(machine.OnPrefixHashed(own, null));
        Assert.Equal(
            $"the receiver's first {2 * ChunkSize} bytes are not this file's (it changed since they were sent); send it again",
            machine.OnPrefixHashed(own, SHA256.HashData(File.AsSpan(1, 2 * ChunkSize))));
    }

    [Fact]
    public void Sending_Acks_MoveTheWindowAndTheVerifiedBytesForwardOnly_AndTheVerdictEndsIt()
    {
        var machine = new SendingMachine(File.Length, ChunkSize, verifiedBytes: ChunkSize);
        machine.OnAccept(ChunkSize);
        Assert.True(machine.OnAck(2 * ChunkSize, 3 * ChunkSize));
        Assert.Equal((2 * ChunkSize, 3 * ChunkSize), (machine.VerifiedBytes, machine.ReceivedBytes));

        // Late, reordered or inflated acks never move either back, nor past the file.
        Assert.False(machine.OnAck(ChunkSize, ChunkSize));
        Assert.Equal((2 * ChunkSize, 3 * ChunkSize), (machine.VerifiedBytes, machine.ReceivedBytes));
        Assert.True(machine.OnAck(long.MaxValue, long.MaxValue));
        Assert.Equal((File.Length, File.Length), (machine.VerifiedBytes, machine.ReceivedBytes));

        var failed = new SendingMachine(File.Length, ChunkSize);
        Assert.Equal("the receiver's check failed: SHA-256 mismatch", failed.OnVerify(verified: false, "SHA-256 mismatch"));
        Assert.Null(failed.OnVerify(verified: true, null));
        Assert.Equal(File.Length, failed.VerifiedBytes);
    }

    [Fact]
    public void Storing_FlushesAndAcksEveryInterval_CreditsTheWindowEveryEighth_AndOnlyDurableBytesCountAsVerified()
    {
        // 16 KiB chunks, a durable ack every 64 KiB, a 256 KiB window: credit every 32 KiB.
        const int chunk = 16 * 1024;
        var machine = new StoringMachine(1024 * 1024, chunk, offset: 0, ackInterval: 64 * 1024, window: 256 * 1024);
        var actions = new List<StoreAction>();
        for (var i = 0; i < 8; i++)
        {
            var action = machine.OnStored(chunk);
            actions.Add(action);
            if (action == StoreAction.FlushSaveAndAck)
            {
                Assert.Equal(machine.Written - (64 * 1024), machine.Verified);
                machine.OnFlushed();
            }
        }

        Assert.Equal(
            [StoreAction.None, StoreAction.CreditAck, StoreAction.None, StoreAction.FlushSaveAndAck, StoreAction.None, StoreAction.CreditAck, StoreAction.None, StoreAction.FlushSaveAndAck],
            actions);
        Assert.Equal((8L * chunk, 8L * chunk), (machine.Written, machine.Verified));
    }

    [Fact]
    public void Storing_AResumedRun_CountsFromItsPrefix_AndTheEndCheckNamesWhatIsWrong()
    {
        var machine = new StoringMachine(File.Length, ChunkSize, offset: 2 * ChunkSize, ackInterval: 1 << 20, window: 1 << 20);
        Assert.Equal((2L * ChunkSize, 2L * ChunkSize), (machine.Written, machine.Verified));
        for (var i = 2; i < 5; i++)
        {
            machine.OnStored(Payload(i).Length);
        }

        Assert.Null(machine.CheckEnd(File.Length, FileSha256, FileSha256));
        Assert.Equal($"the stored file is {File.Length - 1} bytes, not the {File.Length} offered", machine.CheckEnd(File.Length - 1, FileSha256, FileSha256));
        Assert.Equal("the received file's SHA-256 does not match the sender's", machine.CheckEnd(File.Length, FileSha256, new byte[32]));

        var early = new StoringMachine(File.Length, ChunkSize, offset: 0, ackInterval: 1 << 20, window: 1 << 20);
        early.OnStored(ChunkSize);
        Assert.NotNull(early.CheckEnd(File.Length, FileSha256, FileSha256));
    }
}
