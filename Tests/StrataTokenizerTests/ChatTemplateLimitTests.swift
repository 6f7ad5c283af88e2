import StrataTokenizer
import Testing

/// Hostile or broken templates end in a typed error, never a crash or a hang.
@Suite("ChatTemplate limits")
struct ChatTemplateLimitTests {
    private func render(_ source: String) throws -> String {
        try ChatTemplate(source: source).render(messages: [], addGenerationPrompt: false)
    }

    @Test func nestingWithinTheLimitRenders() throws {
        let parens = String(repeating: "(", count: 40) + "1" + String(repeating: ")", count: 40)
        #expect(try render("{{ \(parens) }}") == "1")
        let ifs = String(repeating: "{% if true %}", count: 40) + "x" + String(repeating: "{% endif %}", count: 40)
        #expect(try render(ifs) == "x")
    }

    @Test func deepNestingIsASyntaxError() {
        let parens = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        #expect(throws: ChatTemplateError.self) { try render("{{ \(parens) }}") }
        #expect(throws: ChatTemplateError.self) { try render("{{ " + String(repeating: "not ", count: 5000) + "1 }}") }
        #expect(throws: ChatTemplateError.self) { try render(String(repeating: "{% if true %}", count: 5000)) }
    }

    @Test func runawayRecursionAndArithmeticAreErrors() {
        #expect(throws: ChatTemplateError.self) { try render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}") }
        #expect(throws: ChatTemplateError.self) { try render("{{ 'ab' * 10 ** 12 }}") }
        #expect(throws: ChatTemplateError.self) { try render("{{ 2 ** 64 }}") }
        #expect(throws: ChatTemplateError.self) { try render("{{ -(-9223372036854775807 - 1) }}") }
        #expect(throws: ChatTemplateError.self) { try render("{{ 1e300 | int | abs }}{{ range(10 ** 9) | length }}") }
        #expect(throws: ChatTemplateError.self) { try render("{{ 99999999999999999999 }}") }
    }

    @Test func cyclicNamespacePrints() throws {
        #expect(try render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}") == "<Namespace {'me': <Namespace {...}>}>")
        #expect(try render("{{ 1 ** 9223372036854775807 }}") == "1")
    }
}
