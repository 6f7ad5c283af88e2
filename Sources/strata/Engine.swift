import Foundation
import StrataModel
import StrataTokenizer

/// A model, its tokenizer and a generator, opened from the command line's options.
/// The model source (and its memory map) is released once the weights are converted, so resident
/// memory is the converted weights plus KV cache.
struct Engine {
    let config: ModelConfig
    let model: LocalModel
    let tokenizer: Tokenizer
    let generator: Generator

    static func open(_ o: ModelOptions) throws -> Engine {
        let source = try ModelSource(path: o.model)
        let model = try LocalModel(source: source, precision: o.weights, tablePrecision: o.tables, threads: o.threads)
        let tokenizer = try source.gguf.map { try Tokenizer(gguf: $0) } ?? Tokenizer(directory: source.path)
        var stops = Set(source.config.eosTokenIDs)
        if let eos = tokenizer.eosTokenID { stops.insert(eos) }
        return Engine(config: source.config, model: model, tokenizer: tokenizer,
                      generator: Generator(model: model, stopTokens: stops))
    }
}
