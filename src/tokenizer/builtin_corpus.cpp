// The text the "builtin:bytes" vocabulary learns its merges from. Changing it changes the demo
// model (and its file bytes), so treat it as data with a version: edit only deliberately.
#include "tokenizer/builtin_vocab.h"

namespace parley {

const std::string_view kBuiltinCorpus = R"corpus(
Parley is a chat service that people run on their own machines. It answers questions, writes and
explains code, summarises documents and keeps every conversation in a store that its owner controls.
The server speaks the same protocol as the popular hosted services, so the client libraries that
people already use work with it unchanged. A request arrives, the server checks who is asking, turns
the conversation into a prompt, splits the prompt into tokens, and hands the tokens to the engine.
The engine computes the next token, and the next, and streams each one back as soon as it exists.

What is a token? A token is a piece of text: a word, part of a word, a space followed by a word,
a digit, a punctuation mark, or a single byte. The tokenizer learns its pieces from text. It starts
with the two hundred and fifty six possible bytes and repeatedly joins the pair of pieces that occur
together most often. The pairs it joins first are the most common ones: the letters of the word
"the", a space before a common word, the ending "ing", the ending "tion", the pair "er", the pair
"in", the pair "on". After a few hundred joins, common words are single tokens and rare words are
built from a few pieces. Text in any language can still be written, because every byte is a token.

The model reads tokens and predicts the next one. It is a stack of layers. Each layer mixes
information between positions with attention and then transforms each position with a small
network. The model keeps the keys and values of earlier positions in a cache, so that each new token
needs only one more step of work instead of reading the whole conversation again. The cache is
divided into blocks. A conversation holds a list of blocks, and blocks that start with the same text
can be shared between conversations, which saves memory and time when many people use the same
system prompt.

The scheduler decides which requests run in each step. It has a budget of tokens per step. Running
conversations that are producing their answer come first, one token each; then the prompts that are
waiting get chunks of the remaining budget. A long prompt is processed in several chunks, so that
nobody else's answer stops while it is read. When memory runs out, the request with the lowest
priority gives back its blocks and waits; later it is computed again from its prompt and the tokens it
already produced, and it continues exactly where it stopped. Nothing that was already sent is sent
twice, and nothing is lost.

The people who run the service care about a few numbers. Time to first token is how long a person
waits before the answer starts. Inter-token latency is the time between two tokens of the answer.
Throughput is how many tokens the whole machine produces per second for everyone together. Queue
depth is how many requests are waiting. Memory use is how many cache blocks are taken. These numbers
are exported as metrics, and every request writes one line to the log with its request id, its model,
its status, the number of tokens it read and wrote, and how long it took.

Accounts keep the service fair and safe. Each person has an account with a password, which is stored
only as a slow, salted hash. Programs use keys instead of passwords; a key is shown once when it is
created and then kept only as a hash. Every account has limits: how many requests per minute, how many
tokens per minute, and how many tokens or how much money per day and per month. A request over a limit
is refused at once with a clear message and a time after which it may try again. A person can never see
or change the conversations of another person.

A conversation is a tree of messages. When you edit one of your messages, the conversation branches:
the old branch stays, and the new one continues from your edited message. When you ask for another
answer, the new answer is a sibling of the old one, and you can switch between them. The title of a
conversation is written automatically after the first exchange, and you can rename it, archive it,
or delete it.

Here is a short example of a chat.

User: What is the capital of France?
Assistant: The capital of France is Paris.
User: And how many people live there?
Assistant: About two million people live in the city of Paris itself, and more than ten million live
in the wider metropolitan area.
User: Can you write a function that adds two numbers?
Assistant: Here is a function in Python:

def add(a, b):
    return a + b

And here is the same function in C++:

int add(int a, int b) {
    return a + b;
}

User: Thank you. Can you explain what the function does?
Assistant: The function takes two numbers, a and b, and returns their sum. If you call add(2, 3),
the result is 5. If you call add(-1, 1), the result is 0.

Numbers appear in many forms: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16, 32, 64, 100, 128, 256, 512,
1000, 1024, 2048, 4096, 8080, 2024, 2025, 2026, 3.14, 2.718, 0.5, 1.5, 99.9 percent, 42.

Lists are common in answers:
- first, read the question carefully;
- second, think about what the person needs;
- third, answer clearly and briefly;
- finally, offer more detail if it helps.

Good answers are correct, clear and kind. When the assistant does not know something, it says so.
When a question is ambiguous, it asks what the person means. When a request could cause harm, it
explains why it will not help with that part, and helps with the rest. It writes code that works,
explains the reasons for its choices, and points out what the person should test.

The service is configured with a small file. The file names the models to load, the address and port
to listen on, the database to use, the limits for each role, and the price of tokens for each model.
On a laptop, everything runs in one process with an embedded database. In a data centre, several
gateways receive requests and pass them to many workers with graphics processors, and a shared
database keeps the accounts and conversations. A router sends each request to the worker that has the
most room and, where it can, to the worker that already holds the beginning of the prompt in its cache.
When a worker fails its health check, the router stops sending it requests and retries elsewhere. When
a worker is being replaced, it is drained: it finishes the requests it has and accepts no new ones.

Speed matters. Reading the weights of the model from memory is the limit when producing one token for
one person, so the engine reads each weight once per step for all the people in the batch. Computing
the prompt is limited by arithmetic, so the engine uses wide vector instructions and all the cores of
the machine. Every kernel has a simple reference version, and the fast versions are tested against it.
The benchmarks print the measured speed next to the limit of the machine, so that everyone can see how
close the engine comes to what the hardware allows.

The documentation explains how a request travels through the system, how to add a new model family,
how to add a new kind of processor, and how to deploy, scale and watch the service in production.
Questions, bug reports and improvements are welcome. Thank you for reading, and enjoy the conversation.
)corpus";

}  // namespace parley
