import Testing
import StrataModel
import StrataTestSupport

@Suite struct GGUFHeaderTests {
    @Test(.enabled(if: TestAssets.available(TestAssets.smolLM2)))
    func readsSmolLM2Metadata() throws {
        let g = try GGUFFile(path: TestAssets.smolLM2)
        #expect(g.version == 3)
        #expect(try g.string("general.architecture") == "llama")
        #expect(try g.int("llama.block_count") == 30)
        #expect(try g.int("llama.embedding_length") == 576)
        #expect(g.tensors["blk.0.attn_q.weight"]?.shape == [576, 576])
        #expect(g.tensors["blk.0.attn_q.weight"]?.type == .q4_1)
    }
}
