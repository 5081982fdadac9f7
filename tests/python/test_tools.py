"""Function calling and structured output through the real SDKs: google-genai,
google-generativeai (REST) and openai. Calls are well formed and valid against their
declarations, the guide's get_weather round trip completes, JSON answers parse and validate."""
import json

import google.generativeai as genai_old
from google import genai
from google.genai import types
from openai import OpenAI
from pydantic import BaseModel, Field

from conftest import KEY

# A model with room in its output cap (tests/python/gemd-test.toml) for a call or a document.
M = "gemini-2.5-flash-lite"
QUESTION = "What's the weather in Paris?"
WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING", "description": "City name", "max_length": 40}},
                   "required": ["city"]},
}
# google-generativeai's Schema has no max_length.
WEATHER_OLD = {**WEATHER, "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING", "description": "City name"}}, "required": ["city"]}}
RESULT = {"result": {"temperature_c": 21, "condition": "sunny"}}


def genai_client(base):
    return genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=base))


def assert_weather_args(args):
    assert set(args) == {"city"}, args
    assert isinstance(args["city"], str) and len(args["city"]) <= 40, args


def test_genai_forced_call_then_the_guides_round_trip(base):
    c = genai_client(base)
    tools = [types.Tool(function_declarations=[types.FunctionDeclaration(**WEATHER)])]
    forced = types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY", allowed_function_names=["get_weather"]))
    contents = [types.Content(role="user", parts=[types.Part(text=QUESTION)])]
    r = c.models.generate_content(model=M, contents=contents, config=types.GenerateContentConfig(tools=tools, tool_config=forced))
    assert r.function_calls, r
    call = r.function_calls[0]
    assert call.name == "get_weather"
    assert_weather_args(call.args)
    assert r.candidates[0].finish_reason == types.FinishReason.STOP

    contents += [r.candidates[0].content, types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response=RESULT)])]
    final = c.models.generate_content(
        model=M, contents=contents,
        config=types.GenerateContentConfig(tools=tools, tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="NONE"))))
    assert final.text
    assert not final.function_calls


def test_genai_auto_mode_with_a_python_callable(base):
    def get_weather(city: str) -> dict:
        """Get the current weather for a city.

        Args:
          city: the city name
        """
        return {"temperature_c": 21, "condition": "sunny", "city": city}

    c = genai_client(base)
    r = c.models.generate_content(
        model=M, contents=QUESTION,
        config=types.GenerateContentConfig(tools=[get_weather], max_output_tokens=64,
                                           automatic_function_calling=types.AutomaticFunctionCallingConfig(maximum_remote_calls=2)))
    # AUTO: the model chose text, or called (and the SDK ran the function and asked again).
    for call in r.function_calls or []:
        assert call.name == "get_weather"
        assert_weather_args(call.args)
    assert r.candidates[0].content.parts


class Recipe(BaseModel):
    recipe_name: str = Field(max_length=30)
    ingredients: list[str] = Field(max_length=4)


class Recipes(BaseModel):
    recipes: list[Recipe] = Field(max_length=3)


def test_genai_response_schema_parses_into_the_model(base):
    c = genai_client(base)
    r = c.models.generate_content(model=M, contents="List a few popular cookie recipes.",
                                  config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=Recipes))
    assert r.candidates[0].finish_reason == types.FinishReason.STOP
    assert isinstance(r.parsed, Recipes), r.text
    Recipes.model_validate_json(r.text)


def test_genai_response_json_schema_and_enum(base):
    c = genai_client(base)
    schema = {"type": "object", "properties": {"recipe_name": {"type": "string", "maxLength": 30},
                                               "minutes": {"type": "integer", "minimum": 1, "maximum": 90}},
              "required": ["recipe_name", "minutes"]}
    r = c.models.generate_content(model=M, contents="Give me a recipe.",
                                  config=types.GenerateContentConfig(response_mime_type="application/json", response_json_schema=schema))
    doc = json.loads(r.text)
    assert set(doc) == {"recipe_name", "minutes"} and isinstance(doc["recipe_name"], str) and 1 <= doc["minutes"] <= 90, doc

    r = c.models.generate_content(model=M, contents="What type of instrument is an oboe?",
                                  config=types.GenerateContentConfig(response_mime_type="text/x.enum",
                                                                     response_schema={"type": "STRING", "enum": ["Percussion", "String", "Woodwind"]}))
    assert r.text in ("Percussion", "String", "Woodwind")


def test_genai_streamed_call_arrives_whole(base):
    c = genai_client(base)
    tools = [types.Tool(function_declarations=[types.FunctionDeclaration(**WEATHER)])]
    forced = types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY"))
    chunks = list(c.models.generate_content_stream(model=M, contents=QUESTION, config=types.GenerateContentConfig(tools=tools, tool_config=forced)))
    with_calls = [ch for ch in chunks if ch.function_calls]
    assert len(with_calls) == 1
    assert_weather_args(with_calls[0].function_calls[0].args)


def test_generativeai_forced_call_and_round_trip(base):
    genai_old.configure(api_key=KEY, transport="rest", client_options={"api_endpoint": base})
    model = genai_old.GenerativeModel(M, tools=[{"function_declarations": [WEATHER_OLD]}],
                                      tool_config={"function_calling_config": {"mode": "ANY", "allowed_function_names": ["get_weather"]}})
    chat = model.start_chat()
    r = chat.send_message(QUESTION)
    fc = r.candidates[0].content.parts[0].function_call
    assert fc.name == "get_weather"
    args = dict(fc.args)
    assert set(args) == {"city"} and isinstance(args["city"], str), args

    # The reply to the function response is text: the round trip's second turn may not call.
    answer = genai_old.GenerativeModel(M, tools=[{"function_declarations": [WEATHER_OLD]}],
                                       tool_config={"function_calling_config": {"mode": "NONE"}})
    history = chat.history + [genai_old.protos.Content(role="user", parts=[genai_old.protos.Part(
        function_response=genai_old.protos.FunctionResponse(name="get_weather", response=RESULT))])]
    final = answer.generate_content(history)
    assert final.text


def test_generativeai_json_schema(base):
    genai_old.configure(api_key=KEY, transport="rest", client_options={"api_endpoint": base})
    schema = {"type": "ARRAY", "max_items": 3, "items": {"type": "OBJECT", "properties": {
        "recipe_name": {"type": "STRING"},
        "ingredients": {"type": "ARRAY", "max_items": 4, "items": {"type": "STRING"}}},
        "required": ["recipe_name", "ingredients"]}}
    r = genai_old.GenerativeModel(M).generate_content(
        "List a few popular cookie recipes.",
        generation_config=genai_old.GenerationConfig(response_mime_type="application/json", response_schema=schema))
    assert r.candidates[0].finish_reason == 1, r  # STOP: the document is complete
    doc = json.loads(r.text)
    assert isinstance(doc, list) and len(doc) <= 3
    for item in doc:
        assert set(item) == {"recipe_name", "ingredients"} and len(item["ingredients"]) <= 4, doc


OPENAI_TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}}, "required": ["city"]}}}]


def test_openai_tools_round_trip_and_stream(base):
    c = OpenAI(api_key=KEY, base_url=f"{base}/v1beta/openai/")
    messages = [{"role": "user", "content": QUESTION}]
    r = c.chat.completions.create(model=M, messages=messages, tools=OPENAI_TOOLS, tool_choice="required")
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.id.startswith("call_") and call.type == "function" and call.function.name == "get_weather"
    assert_weather_args(json.loads(call.function.arguments))

    messages += [choice.message, {"role": "tool", "tool_call_id": call.id, "content": json.dumps(RESULT)}]
    final = c.chat.completions.create(model=M, messages=messages, tools=OPENAI_TOOLS, tool_choice="none", max_tokens=32)
    assert final.choices[0].message.content and not final.choices[0].message.tool_calls

    stream = c.chat.completions.create(model=M, messages=messages[:1], tools=OPENAI_TOOLS, stream=True,
                                       tool_choice={"type": "function", "function": {"name": "get_weather"}})
    calls, finish = {}, None
    for chunk in stream:
        for d in chunk.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(d.index, {"name": "", "arguments": ""})
            entry["name"] += d.function.name or ""
            entry["arguments"] += d.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls" and calls[0]["name"] == "get_weather"
    assert_weather_args(json.loads(calls[0]["arguments"]))


def test_openai_json_schema_and_json_object(base):
    c = OpenAI(api_key=KEY, base_url=f"{base}/v1beta/openai/")
    schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 30}, "age": {"type": "integer", "minimum": 0, "maximum": 120}},
              "required": ["name", "age"], "additionalProperties": False}
    r = c.chat.completions.create(model=M, messages=[{"role": "user", "content": "Invent a person."}],
                                  response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}})
    doc = json.loads(r.choices[0].message.content)
    assert set(doc) == {"name", "age"} and 0 <= doc["age"] <= 120, doc
    r = c.chat.completions.create(model=M, messages=[{"role": "user", "content": "A JSON object, please."}],
                                  response_format={"type": "json_object"}, max_tokens=200)
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(r.choices[0].message.content), dict)
