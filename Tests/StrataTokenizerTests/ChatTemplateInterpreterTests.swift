import StrataTokenizer
import Testing

/// The Jinja interpreter on small templates: outputs recorded from jinja2 in transformers'
/// environment (fixture `jinja_cases`), plus errors that must be typed, located and never crash.
@Suite("ChatTemplate interpreter")
struct ChatTemplateInterpreterTests {
    private func render(_ source: String, _ context: [String: Value] = [:]) throws -> String {
        try ChatTemplate(source: source).render(messages: [], addGenerationPrompt: false, extra: context)
    }

    @Test func smallTemplatesMatchJinja() throws {
        let cases = ChatFixture.shared.jinjaCases
        #expect(cases.count >= 50)
        var failures: [String] = []
        for c in cases {
            let source = c["source"]!.pyStr
            var context: [String: Value] = [:]
            if case let .dict(ctx)? = c["context"] { for (k, v) in ctx { context[k.pyStr] = v } }
            do {
                let out = try render(source, context)
                if let expected = c["expected"]?.stringValue, sameBytes(out, expected) { continue }
                failures.append("\(source.debugDescription): got \(out.debugDescription), expected \(c["expected"]?.pyRepr ?? "error \(c["error"]!.pyStr)")")
            } catch let error as ChatTemplateError {
                if c["error"] == nil { failures.append("\(source.debugDescription): unexpected \(error)") }
            }
        }
        #expect(failures.isEmpty, "\(failures.count)/\(cases.count) differ:\n\(failures.joined(separator: "\n"))")
    }

    @Test func namespaceAssignmentSurvivesLoop() throws {
        let src = "{% set ns = namespace(last='') %}{% for m in messages %}{% set ns.last = m.role %}{% endfor %}{{ ns.last }}"
        let t = try ChatTemplate(source: src)
        let out = try t.render(messages: [ChatMessage(role: "user", content: "a"), ChatMessage(role: "assistant", content: "b")],
                               addGenerationPrompt: false)
        #expect(out == "assistant")
    }

    @Test func specialTokensAndExtraVariables() throws {
        let t = try ChatTemplate(source: "{{ bos_token }}{{ greeting }}{% if add_generation_prompt %}>{% endif %}",
                                 specialTokens: ["bos_token": "<s>"])
        #expect(try t.render(messages: [], addGenerationPrompt: true, extra: ["greeting": .string("hi")]) == "<s>hi>")
    }

    @Test func messageNormalizationDropsNullsAndAliasesReasoning() throws {
        let m = try ChatMessage(json: PyJSON.parse(#"{"role": "assistant", "content": null, "reasoning": "r", "x": 1}"#))
        let t = try ChatTemplate(source: "{{ messages[0] | tojson }}")
        #expect(try t.render(messages: [m], addGenerationPrompt: false)
            == #"{"thinking": "r", "role": "assistant", "reasoning": "r", "x": 1, "reasoning_content": "r"}"#)
    }

    @Test func unsupportedConstructsAreNamedWithTheirLine() throws {
        #expect(throws: ChatTemplateError.unsupported("filter 'wordwrap'", line: 2)) {
            try ChatTemplate(source: "a\n{{ x | wordwrap }}")
        }
        #expect(throws: ChatTemplateError.unsupported("test 'fancy'", line: 1)) {
            try ChatTemplate(source: "{% for m in messages %}{{ m is fancy }}{% endfor %}")
        }
        // As in jinja2, a name directly inside an `if` is only an error once the branch runs.
        let lazy = try ChatTemplate(source: "{% if x %}{{ x | from_json }}{% endif %}ok")
        #expect(try lazy.render(messages: [], addGenerationPrompt: false) == "ok")
        #expect(throws: ChatTemplateError.unsupported("filter 'from_json'", line: 1)) {
            try lazy.render(messages: [], addGenerationPrompt: false, extra: ["x": .string("{}")])
        }
        #expect(throws: ChatTemplateError.unsupported("'include' tag", line: 3)) {
            try ChatTemplate(source: "\n\n{% include 'other.jinja' %}")
        }
        #expect(throws: ChatTemplateError.unsupported("str method 'expandtabs'", line: 1)) {
            try render("{{ 'a'.expandtabs(3) }}")
        }
    }

    @Test(arguments: [
        "{% if x %}", "{% for %}", "{{ x", "{{ 'unterminated }}", "{% endif %}", "{{ (1 + }}", "{# no end",
        "{% set = 1 %}", "{{ a b }}", "{% macro m( %}", "{{ [1, 2 }}", "{% if x %}{% else %}{% else %}{% endif %}",
        "{% for x in y %}{% endif %}", "{{ 1 +* 2 }}", "{% unknown_tag %}", "{{ x | }}", "{{ x.1.2 }}{% if",
    ])
    func malformedTemplatesThrowSyntaxErrors(_ source: String) {
        do {
            _ = try ChatTemplate(source: source)
            Issue.record("\(source.debugDescription) parsed")
        } catch let error as ChatTemplateError {
            guard case .syntax = error else { Issue.record("\(source.debugDescription): \(error)"); return }
        } catch {
            Issue.record("\(source.debugDescription): untyped error \(error)")
        }
    }

    @Test func runtimeErrorsCarryTheirLine() throws {
        #expect(throws: ChatTemplateError.raised("bad roles", line: 3)) {
            try render("x\n\n{{ raise_exception('bad roles') }}")
        }
        #expect(throws: ChatTemplateError.undefined("'y' is undefined", line: 2)) {
            try render("{% if true %}\n{{ y.z }}{% endif %}")
        }
    }

    @Test func jsonRoundTripKeepsOrderAndNumberKinds() throws {
        let text = "{\"z\": 1, \"a\": [1.0, 2, \"\\u00e9\\n\\ud83d\\ude00\", null, true]}"
        let encoded = try PyJSON.encode(PyJSON.parse(text))
        #expect(encoded == "{\"z\": 1, \"a\": [1.0, 2, \"\u{e9}\\n\u{1F600}\", null, true]}", "\(encoded)")
        #expect(throws: ChatTemplateError.self) { try PyJSON.parse("{\"a\": }") }
    }
}
