import Foundation

/// Decodes a request body, turning `DecodingError`s into OpenAI 400s that name the parameter.
enum RequestDecoding {
    static func decode<T: Decodable>(_ type: T.Type, from body: Data) throws(APIError) -> T {
        guard !body.isEmpty else {
            throw .invalidRequest("The request body is empty; expected a JSON object.", code: "invalid_json")
        }
        do {
            return try JSONDecoder().decode(T.self, from: body)
        } catch let error as APIError {
            throw error
        } catch let error as DecodingError {
            throw apiError(error)
        } catch {
            throw .invalidRequest("We could not parse the JSON body of your request: \(error)", code: "invalid_json")
        }
    }

    static func apiError(_ error: DecodingError) -> APIError {
        switch error {
        case let .typeMismatch(type, ctx):
            if ctx.codingPath.isEmpty {
                return .invalidRequest("The request body must be a JSON object.", code: "invalid_json")
            }
            let param = paramName(ctx.codingPath)
            return .invalidRequest("Invalid type for '\(param)': expected \(typeName(type)).", param: param, code: "invalid_type")
        case let .valueNotFound(type, ctx):
            let param = paramName(ctx.codingPath)
            return .invalidRequest("Invalid type for '\(param)': expected \(typeName(type)), got null.", param: param, code: "invalid_type")
        case let .keyNotFound(key, ctx):
            let param = paramName(ctx.codingPath + [key])
            return .invalidRequest("Missing required parameter: '\(param)'.", param: param, code: "missing_required_parameter")
        case let .dataCorrupted(ctx):
            if ctx.codingPath.isEmpty {
                let detail = ctx.underlyingError.map { "\($0)" } ?? ctx.debugDescription
                return .invalidRequest("We could not parse the JSON body of your request (\(ctx.debugDescription) \(detail)). Send a valid JSON object.",
                                       code: "invalid_json")
            }
            let param = paramName(ctx.codingPath)
            return .invalidRequest("Invalid value for '\(param)': \(ctx.debugDescription)", param: param, code: "invalid_value")
        @unknown default:
            return .invalidRequest("Invalid request: \(error)")
        }
    }

    /// `messages[0].content` from a coding path.
    static func paramName(_ path: [CodingKey]) -> String {
        var out = ""
        for key in path {
            if let i = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == "\(i)" {
                out += "[\(i)]"
            } else {
                out += out.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return out
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is [Any].Type: return "an array"
        case is [String: Any].Type: return "an object"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a valid \(name)"
        }
    }
}
